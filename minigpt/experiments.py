"""`python -m minigpt.experiments`: the documented command that makes assets/compare/.

The command itself is minigpt/cli/experiments.py; the experiment is minigpt/analysis/extrapolation.py.
"""

from minigpt.cli.experiments import main

if __name__ == "__main__":
    raise SystemExit(main())
