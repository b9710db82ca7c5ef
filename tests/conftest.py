"""Shared test setup: one torch thread, so tests are fast on a shared 2-core machine."""

import torch

torch.set_num_threads(1)
