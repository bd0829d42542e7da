"""pixelab.cli"""
