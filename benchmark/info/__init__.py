"""Gaussian-copula information theory (GCMI; Ince et al. 2017), exact and fast.

Conventions, for every function here: samples on the **last axis**; results in **bits**;
bias correction as in Ince's ``gcmi``; discrete variables are integer labels ``0..Ym-1``.
GCMI is a lower bound on mutual information: it misses dependence that a Gaussian copula
cannot express (e.g. ``y = x**2``).

* top level / :mod:`.gcmi`: one variable at a time, the names and argument order of
  ``gcmi`` (``copnorm``, ``ent_g``, ``mi_gg``, ``gcmi_cc``, ``mi_model_gd``, ...);
* :mod:`.mass`: the same estimators for many variables at once, vectorised and chunked;
* :mod:`.torch_backend`: the same on torch tensors, CPU or GPU (import it explicitly);
* :mod:`.interaction`: co-information and redundancy/synergy (sign: positive = redundancy);
* :mod:`.stats`: max-statistic permutation tests and bootstrap intervals, seeded.

Reference: Ince, Giordano, Kayser, Rousselet, Gross & Schyns (2017) Human Brain Mapping
38:1541-1573, doi:10.1002/hbm.23471.
"""
from . import interaction, mass, stats
from .gcmi import (cmi_ggg, copnorm, ctransform, ent_g, gccmi_ccc, gccmi_ccd, gcmi_cc,
                   gcmi_mixture_cd, gcmi_model_cd, mi_gg, mi_mixture_gd, mi_model_gd)
from .interaction import PID, coinfo_ccc, coinfo_ccd, pid_mmi_ccc, pid_mmi_ccd
from .stats import BootstrapResult, PermutationResult, bootstrap_ci, permutation_test

__all__ = [
    "copnorm", "ctransform", "ent_g", "mi_gg", "gcmi_cc", "mi_model_gd", "gcmi_model_cd",
    "mi_mixture_gd", "gcmi_mixture_cd", "cmi_ggg", "gccmi_ccc", "gccmi_ccd",
    "mass", "interaction", "stats",
    "coinfo_ccc", "coinfo_ccd", "pid_mmi_ccc", "pid_mmi_ccd", "PID",
    "permutation_test", "bootstrap_ci", "PermutationResult", "BootstrapResult",
]
