"""WebDataset shards: deterministic atomic tar files, encoders and the dataset manifest."""
from .encode import decode_image, encode_image, encode_npy
from .manifest import ManifestError, read_manifest
from .tario import read_shard, sha256_file, write_shard

__all__ = ["decode_image", "encode_image", "encode_npy", "ManifestError", "read_manifest", "read_shard",
           "sha256_file", "write_shard"]
