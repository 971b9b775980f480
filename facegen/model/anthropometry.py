"""Craniofacial anthropometry on a model's named points: published norms and a measurement function.

Measurements are straight-line (Euclidean) distances in mm between two named vertices of
``FaceModel.points`` (Farkas's landmark abbreviations: ``zy`` zygion, ``al`` alare, ``en``
endocanthion, ``ch`` cheilion, ``n`` nasion, ``gn`` gnathion; ``_r`` the face's right, ``_l`` its
left), the way a caliper measures them on a person.

Norms: adult North American Whites (NAW, 18-25 years), from the tables of

* L. G. Farkas (ed.), *Anthropometry of the Head and Face*, 2nd ed., Raven Press, New York, 1994; and
* L. G. Farkas, M. J. Katic, C. R. Forrest, "International anthropometric study of facial
  morphology in various ethnic groups/races", *J. Craniofac. Surg.* 16(4):615-646, 2005, which
  reprints the NAW norms as its reference column.

=========  ==========================  ================  ================
measure    points                      female mean (sd)  male mean (sd)
=========  ==========================  ================  ================
zy-zy      face width (bizygomatic)    129.9 (5.3)       137.1 (4.3)
al-al      nose width                  31.4 (2.0)        34.9 (2.1)
en-en      intercanthal width          31.8 (2.3)        33.3 (2.7)
ch-ch      mouth width                 50.2 (3.2)        53.3 (3.3)
n-gn       face height (morphological) 111.8 (5.2)       121.3 (6.8)
=========  ==========================  ================  ================

(mm; the numbers were transcribed for this module from the NAW columns of those tables, and
should be checked against the printed page before being quoted elsewhere.)

Group differences (``ETHNIC_DIFFERENCES``): published differences of a measure between a group and
North American Whites (the ``european`` level), or between two groups, in mm, from sources other
than the NAW norms above; an entry without numbers records a documented direction only.

===========  ========  ===============  =========================================================
group        measure   group - ref, mm  source
===========  ========  ===============  =========================================================
african      al-al     F +9.3, M +8.3   [V] Table 9: men 43.2, women 40.7 mm; abstract "8-9 mm
                                        greater"
african      ch-ch     F +1.8, M +2.6   [V] Table 9: men 55.9, women 52.0; abstract "similar in all
                                        groups"
african      en-en     F +0.3, M -1.1   [V] Table 9: men 32.2, women 32.1
african      zy-zy     F +0.2, M -3.3   [V] Table 9: men 133.8, women 130.1
african      n-sn      F -3.0, M -4.0   [V] abstract: nasal height "reduced by ~4 mm in males, ~3 mm
                                        in females"
african      sn-sto    +3.0             [V] abstract: upper lip height "> 3 mm" greater
african      en-ex     +3.0             [V] abstract: eye width "greater by ~3 mm"
african      n-gn      F +5.7, M +4.5   [Z] vs east_asian: menton-sellion 5.7 (women), 4.5 (men) mm
                                        longer in African-Americans than in the mainly Asian-American
                                        "Others" group (reference ``east_asian``)
east_asian   en-en     +5.0             [B] pooled intercanthal distance, Asian 36.4 vs White 31.4
east_asian   zy-zy     larger           [D] Chinese workers vs US: "larger face width"
east_asian   n-gn      smaller          [D] "shorter face length"
east_asian   ch-ch     larger           [D] "longer lip length" (lip length = mouth width)
east_asian   sn-prn    smaller          [D] "smaller nose protrusion"
south_asian  al-al     larger           [P] South Indian women vs NAW women: "wider" noses
south_asian  n-sn      smaller          [P] "shorter" noses
===========  ========  ===============  =========================================================

Sources (differences vs NAW are the group's published mean minus the NAW norm of this module).
Farkas, Katic & Forrest 2005 also tabulate per-group means (African-American, Chinese, Indian and
others against NAW); those tables could not be read for this module and are not used.

* [V] S. S. Virdi, D. Wertheim, F. B. Naini, "Normative anthropometry and proportions of the
  Kenyan-African face and comparative anthropometry in relation to African Americans and North
  American Whites", *Maxillofac. Plast. Reconstr. Surg.* 41:9, 2019 (doi:10.1186/s40902-019-0191-7):
  72 Kenyan-Africans aged 18-30, direct (caliper) anthropometry, compared with the Farkas NAW norms.
  Table 9 was read with its columns as men, then women; its nasion-menton row is not used (its men's
  value, 101.8 mm, contradicts the same table's n-sn + sn-me, 127.4 mm).
* [B] G. Bouhadana, J. Gornitsky, E. Saleh, N. Oliveira Trabelsi, D. E. Borsuk, "Expanding the
  classic facial canons: quantifying intercanthal distance in a diverse patient population",
  *Plast. Reconstr. Surg. Glob. Open* 10(4):e4268, 2022 (doi:10.1097/GOX.0000000000004268): pooled
  analysis of 67 studies, sexes pooled. Its pooled African value (38.5 mm) is not used: the
  african level takes all its eye measures from the single direct-caliper sample [V], which puts
  en-en near the NAW norm and the longer eye fissure (en-ex) outside it.
* [Z] Z. Zhuang, D. Viscusi, R. Shaffer, L. Williams, "Facial anthropometric differences among
  race/age groups", AIHce 2005, Anaheim, pp. 57-58 (NIOSHTIC-2 no. 20027338): the NIOSH 2003 survey
  of US respirator users. Sellion (the deepest point of the nasal root) and menton stand in for
  nasion and gnathion.
* [D] L. Du, Z. Zhuang, H. Guan et al., "Head-and-face anthropometric survey of Chinese workers",
  *Ann. Occup. Hyg.* 52(8):773-782, 2008: directions only, against the US survey.
* [P] V. Packiriswamy, M. Bashour, S. Nayak, "Anthropometric analysis of the South Indian woman's
  nose", *Facial Plast. Surg.* 32(3):304-308, 2016 (photographs, 375 women aged 18-35): directions only.

Adult age changes (``AGE_CHANGES``), per year of adult age:

* n-prn (profile nasal length): +0.142 mm/y (men), +0.117 mm/y (women): +1.7 +- 1.7 and +1.4 +- 1.9
  mm over a mean 12 years between paired CT scans of 48 Korean adults, with no significant
  difference in rate between age groups (Y. Kim et al., "Differences in nasal shapes and the degree
  of changes over a decade or more: a paired analysis", *Clin. Exp. Otorhinolaryngol.* 17(1):56-63,
  2024, doi:10.21053/ceo.2023.01137).
* sn-sto (upper lip length): +0.39 %/y: +19.24 % (women) and +18.24 % (men) between MRI groups aged
  20-30 and 65-80 (midpoints 47.5 years apart), 200 Caucasians (L. Ramaut, P. Tonnard, A. Verpaele,
  K. Verstraete, P. Blondeel, "Aging of the upper lip: Part I", *Plast. Reconstr. Surg.*
  143(2):440-446, 2019). The MRI length is read as subnasale to stomion.
* ls-sto (upper vermilion height) decreases and ch-ch (lip width) increases with age: 3-D
  stereophotogrammetry of 169 Chinese women aged 20-60 ("Stereophotogrammetry to reveal age-related
  changes of labial morphology among Chinese women aging from 20 to 60", 2020, PMID 32592198).
* n-sn (nose length) and sn-prn (nasal protrusion) keep increasing through adulthood (A. Zankl,
  L. Eberle, L. Molinari, A. Schinzel, "Growth charts for nose length, nasal protrusion, and philtrum
  length from birth to 97 years", *Am. J. Med. Genet.* 111(4):388-391, 2002); al-al (nasal width)
  increases with age (C. Sforza, G. Grandi, M. De Menezes, G. M. Tartaglia, V. F. Ferrario, "Age-
  and sex-related changes in the normal human external nose", *Forensic Sci. Int.*
  204:205.e1-205.e9, 2011): directions only.

As with the norms, these numbers were transcribed for this module (several from abstracts and
tables read on the publishers' pages, the last two sources from summaries) and should be checked
against the printed papers before being quoted elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

__all__ = ["Norm", "NORMS", "MEASURES", "EXTRA_MEASURES", "ALL_MEASURES", "NORM_AGE", "GroupDifference",
           "ETHNIC_DIFFERENCES", "AgeChange", "AGE_CHANGES", "measure", "measure_batch", "within_sd"]


@dataclass(frozen=True)
class Norm:
    """One published norm: mean and s.d. (mm) per sex, and the source."""

    female: tuple[float, float]
    male: tuple[float, float]
    source: str = "Farkas 1994; Farkas, Katic & Forrest 2005 (NAW, 18-25 y)"

    def of(self, sex: str) -> tuple[float, float]:
        if sex not in ("female", "male"):
            raise ValueError(f"sex={sex!r}; expected 'female' or 'male'")
        return self.female if sex == "female" else self.male


#: measure name -> (point a, point b)
MEASURES: dict[str, tuple[str, str]] = {
    "zy-zy": ("zy_r", "zy_l"),
    "al-al": ("al_r", "al_l"),
    "en-en": ("en_r", "en_l"),
    "ch-ch": ("ch_r", "ch_l"),
    "n-gn": ("n", "gn"),
}
#: further distances, used by the group and age tables (no NAW norm is tabulated for them here)
EXTRA_MEASURES: dict[str, tuple[str, str]] = {
    "n-sn": ("n", "sn"),           # nose height (nasion - subnasale)
    "sn-sto": ("sn", "sto"),       # upper lip height
    "ls-sto": ("ls", "sto"),       # upper vermilion height
    "en-ex": ("en_l", "ex_l"),     # eye fissure length (left eye)
    "sn-prn": ("sn", "prn"),       # nasal tip protrusion
    "n-prn": ("n", "prn"),         # profile nasal length
}
ALL_MEASURES: dict[str, tuple[str, str]] = {**MEASURES, **EXTRA_MEASURES}
#: age (years) of the NAW norms' sample (18-25 y), at which the norms apply
NORM_AGE = 21.5

NORMS: dict[str, Norm] = {
    "zy-zy": Norm(female=(129.9, 5.3), male=(137.1, 4.3)),
    "al-al": Norm(female=(31.4, 2.0), male=(34.9, 2.1)),
    "en-en": Norm(female=(31.8, 2.3), male=(33.3, 2.7)),
    "ch-ch": Norm(female=(50.2, 3.2), male=(53.3, 3.3)),
    "n-gn": Norm(female=(111.8, 5.2), male=(121.3, 6.8)),
}

_V = "Virdi, Wertheim & Naini 2019, Maxillofac Plast Reconstr Surg 41:9 (Kenyan-African, 18-30 y)"
_B = "Bouhadana et al. 2022, Plast Reconstr Surg Glob Open 10:e4268 (pooled, Asian vs White)"
_Z = "Zhuang, Viscusi, Shaffer & Williams 2005, AIHce pp. 57-58 (NIOSH survey, menton-sellion)"
_D = "Du et al. 2008, Ann Occup Hyg 52:773 (Chinese workers vs US survey; direction only)"
_P = "Packiriswamy, Bashour & Nayak 2016, Facial Plast Surg 32:304 (South Indian women; direction only)"


@dataclass(frozen=True)
class GroupDifference:
    """A published difference of one measure between a group and a reference group.

    ``female`` and ``male`` are group minus reference in mm (None where the source gives no number,
    or only one number for both sexes, which then fills both); ``sign`` is the documented
    direction (+1: larger in ``group``). Group names are the model's ethnicity levels; ``reference``
    ``european`` stands for the NAW norm sample.
    """

    group: str
    measure: str
    female: float | None
    male: float | None
    sign: int
    source: str
    reference: str = "european"

    def __post_init__(self):
        if self.measure not in ALL_MEASURES:
            raise ValueError(f"measure={self.measure!r}; expected one of {sorted(ALL_MEASURES)}")
        if self.sign not in (-1, 1):
            raise ValueError(f"sign={self.sign!r}; expected -1 or +1")
        if (self.female is None) != (self.male is None):
            raise ValueError("give both female and male differences, or neither (direction only)")
        if self.female is not None and np.sign(self.mm) != self.sign:
            raise ValueError(f"{self.group} {self.measure}: sign {self.sign} disagrees with {self.mm:+.2f} mm")

    @property
    def mm(self) -> float | None:
        """The sex-averaged difference (mm), or None for a direction-only entry."""
        return None if self.female is None else 0.5 * (self.female + self.male)


#: Published group differences (see the module docstring for the table and its sources).
ETHNIC_DIFFERENCES: tuple[GroupDifference, ...] = (
    GroupDifference("african", "al-al", 9.3, 8.3, +1, _V),
    GroupDifference("african", "ch-ch", 1.8, 2.6, +1, _V),
    GroupDifference("african", "en-en", 0.3, -1.1, -1, _V),
    GroupDifference("african", "zy-zy", 0.2, -3.3, -1, _V),
    GroupDifference("african", "n-sn", -3.0, -4.0, -1, _V),
    GroupDifference("african", "sn-sto", 3.0, 3.0, +1, _V),
    GroupDifference("african", "en-ex", 3.0, 3.0, +1, _V),
    GroupDifference("african", "n-gn", 5.7, 4.5, +1, _Z, reference="east_asian"),
    GroupDifference("east_asian", "en-en", 5.0, 5.0, +1, _B),
    GroupDifference("east_asian", "zy-zy", None, None, +1, _D),
    GroupDifference("east_asian", "n-gn", None, None, -1, _D),
    GroupDifference("east_asian", "ch-ch", None, None, +1, _D),
    GroupDifference("east_asian", "sn-prn", None, None, -1, _D),
    GroupDifference("south_asian", "al-al", None, None, +1, _P),
    GroupDifference("south_asian", "n-sn", None, None, -1, _P),
)


@dataclass(frozen=True)
class AgeChange:
    """A documented change of one measure with adult age.

    ``per_year``: the rate (mm per year, or a fraction of the measure per year when ``relative``),
    or None where the source documents only the direction ``sign`` (+1: grows with age).
    """

    measure: str
    sign: int
    per_year: float | None
    source: str
    relative: bool = False

    def __post_init__(self):
        if self.measure not in ALL_MEASURES:
            raise ValueError(f"measure={self.measure!r}; expected one of {sorted(ALL_MEASURES)}")
        if self.sign not in (-1, 1) or (self.per_year is not None and np.sign(self.per_year) != self.sign):
            raise ValueError(f"{self.measure}: sign={self.sign!r} must be -1 or +1 and agree with per_year")


#: Documented adult age changes (see the module docstring for the sources).
AGE_CHANGES: tuple[AgeChange, ...] = (
    AgeChange("n-prn", +1, 0.5 * (1.7 + 1.4) / 12.0,
              "Kim et al. 2024, Clin Exp Otorhinolaryngol 17:56 (paired CT, 12 y apart)"),
    AgeChange("sn-sto", +1, 0.5 * (0.1924 + 0.1824) / 47.5,
              "Ramaut et al. 2019, Plast Reconstr Surg 143:440 (MRI, 20-30 vs 65-80 y)", relative=True),
    AgeChange("ls-sto", -1, None, "PMID 32592198 (2020; Chinese women 20-60 y; direction only)"),
    AgeChange("ch-ch", +1, None, "PMID 32592198 (2020; Chinese women 20-60 y; direction only)"),
    AgeChange("n-sn", +1, None, "Zankl et al. 2002, Am J Med Genet 111:388 (direction only)"),
    AgeChange("sn-prn", +1, None, "Zankl et al. 2002, Am J Med Genet 111:388 (direction only)"),
    AgeChange("al-al", +1, None, "Sforza et al. 2011, Forensic Sci Int 204:205 (direction only)"),
)


def _pairs(names, who: str) -> dict[str, tuple[str, str]]:
    if names is None:
        return MEASURES
    unknown = [n for n in names if n not in ALL_MEASURES]
    if unknown:
        raise ValueError(f"{who}: unknown measure(s) {unknown}; expected names from {sorted(ALL_MEASURES)}")
    return {n: ALL_MEASURES[n] for n in names}


def _indices(points: Mapping[str, int], who: str, names=None) -> dict[str, tuple[int, int]]:
    out = {}
    for name, (a, b) in _pairs(names, who).items():
        missing = [p for p in (a, b) if p not in points]
        if missing:
            raise ValueError(f"{who}: model has no point(s) {missing} needed for {name}; "
                             f"it defines {sorted(points)}")
        out[name] = (int(points[a]), int(points[b]))
    return out


def measure(vertices: np.ndarray, model, names=None) -> dict[str, float]:
    """Distances (mm) on one face ``vertices`` (V, 3) mm of ``model``.

    ``names``: the measures to take, from ``ALL_MEASURES`` (default: the normed ``MEASURES``).
    """
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices has shape {v.shape}; expected (V, 3)")
    return {k: float(np.linalg.norm(v[a] - v[b])) for k, (a, b) in _indices(model.points, "measure", names).items()}


def measure_batch(vertices: np.ndarray, model, names=None) -> dict[str, np.ndarray]:
    """Like :func:`measure` for a batch (N, V, 3) of faces: name -> (N,) mm."""
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 3 or v.shape[2] != 3:
        raise ValueError(f"vertices has shape {v.shape}; expected (N, V, 3)")
    idx = _indices(model.points, "measure_batch", names)
    return {k: np.sqrt(((v[:, a] - v[:, b]) ** 2).sum(-1)) for k, (a, b) in idx.items()}


def within_sd(values: np.ndarray, name: str, sex: str, k: float = 2.0) -> np.ndarray:
    """Boolean (N,): whether each value of measure ``name`` lies within ``k`` s.d. of the sex's norm."""
    mu, sd = NORMS[name].of(sex)
    return np.abs(np.asarray(values, dtype=np.float64) - mu) <= k * sd
