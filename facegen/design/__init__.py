"""Factor designs: validated YAML configs, presets (xu2018, mini, probes), and the sample plan."""
from .config import FACTORS, DesignConfig, load_config, parse_config
from .plan import ShardSpec, factor_values, identity_for, plan_shards, sample_key, split_labels, split_names
from .presets import PRESETS, preset, preset_names
from .spec import ConfigError, FactorSpec

__all__ = ["FACTORS", "DesignConfig", "load_config", "parse_config", "ShardSpec", "factor_values",
           "identity_for", "plan_shards", "sample_key", "split_labels", "split_names", "PRESETS", "preset",
           "preset_names", "ConfigError", "FactorSpec"]
