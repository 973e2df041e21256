"""``python -m detector``: the same command line as the ``detector`` script."""

from detector.cli.main import main

if __name__ == "__main__":
    main()
