"""``python -m pixelab``: the command line, as ``torchrun ... -m pixelab cnn train`` runs it."""

from pixelab.cli.main import run

if __name__ == "__main__":
    run()
