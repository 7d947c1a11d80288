"""``python -m lightning_unlearn``: the ``lightning-unlearn`` command."""

from lightning_unlearn.commands import main

if __name__ == "__main__":
    main()
