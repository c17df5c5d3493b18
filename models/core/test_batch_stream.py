"""The device run's batch stream: loader processes each draw from their own random stream, none repeats another's,
and batches arrive whole (tuples and dicts of tensors) on the training device."""
import random
import unittest

import torch

from models.core.batch_stream import endless_batches, to_device


def seeded_source(rank: int):
    rng = random.Random(100 + rank)
    return lambda i: (torch.tensor([rank, i]), {"draw": torch.tensor([rng.random()])})


class BatchStreamTest(unittest.TestCase):
    def test_loader_processes_interleave_their_own_streams(self):
        stream = endless_batches(seeded_source, loader_workers=2)
        batches = [next(stream) for _ in range(6)]
        ranks_and_indices = [tuple(b[0].tolist()) for b in batches]
        self.assertEqual(ranks_and_indices, [(0, 0), (1, 1), (0, 2), (1, 3), (0, 4), (1, 5)])
        draws = [float(b[1]["draw"]) for b in batches]
        self.assertEqual(len(set(draws)), 6)
        expected_rank0 = random.Random(100)
        self.assertAlmostEqual(draws[0], expected_rank0.random(), places=6)

    def test_in_process_stream_counts_from_zero(self):
        stream = endless_batches(seeded_source, loader_workers=0)
        self.assertEqual([tuple(next(stream)[0].tolist()) for _ in range(3)], [(0, 0), (0, 1), (0, 2)])

    def test_to_device_keeps_the_structure(self):
        moved = to_device((torch.zeros(2), {"a": torch.ones(1)}, [torch.zeros(1)], "text"), torch.device("cpu"))
        self.assertIsInstance(moved, tuple)
        self.assertEqual(set(moved[1]), {"a"})
        self.assertIsInstance(moved[2], list)
        self.assertEqual(moved[3], "text")


if __name__ == "__main__":
    unittest.main()
