"""`python -m benchmarks`: our figures as ratios against references run in the same process."""
