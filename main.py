"""`python main.py synth`: the same entry point as the `tripgen` console script."""

from tripgen_cdk8s.cli import main

if __name__ == "__main__":
    main()
