"""Entry point: `python run.py --help` lists the commands (the same as `summit-sim` installed)."""

if __name__ == "__main__":
    from sim.__main__ import main

    main()
