"""`python -m minigpt.train` and `torchrun ... -m minigpt.train`: the documented command.

The command itself is minigpt/cli/train.py; this name stays so the README's commands keep working.
"""

from minigpt.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
