"""pixelab.features"""
