"""`python -m minigpt.finetune`: the command itself is minigpt/cli/finetune.py."""

from minigpt.cli.finetune import main

if __name__ == "__main__":
    raise SystemExit(main())
