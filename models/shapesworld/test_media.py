"""The eval scripts write clips at the size `longshot generate` does: the same cases as daemon/media/media.test.ts."""
import unittest

from models.shapesworld.media import cli_output_height


class CliOutputHeight(unittest.TestCase):
    def test_whole_factor_to_at_least_256(self):
        self.assertEqual(cli_output_height(72), 288)    # defaultOutputSize(128, 72): 512x288
        self.assertEqual(cli_output_height(64), 256)    # defaultOutputSize(112, 64): 448x256
        self.assertEqual(cli_output_height(300), 300)   # taller frames are not scaled


if __name__ == "__main__":
    unittest.main()
