"""Context source ``imaging``: lung involvement from CT studies over time (DICOM series or NIfTI).

    python -m p4core context=[imaging] 'context.imaging.series=[ct_2024_03/, ct_2024_05/, ct_2024_09.nii.gz]' \\
        'context.imaging.dates=[null, null, 2024-09-02]' context.imaging.index_date=2024-03-01

* DICOM: every file of a folder is one slice of one series (a folder mixing series is an error);
  slices are sorted by ``ImagePositionPatient`` along the slice normal (from
  ``ImageOrientationPatient``; a missing position tag is an error); stored values become Hounsfield
  units by ``RescaleSlope``/``RescaleIntercept``; the study date comes from ``StudyDate``. NIfTI
  (nibabel): values must already be HU; the date is given in ``context.imaging.dates``.
* Non-HU data are refused (values outside [-1100, 4000] after rescaling, or a modality other than CT).
* Lung mask: given (``context.imaging.masks``, one per study, non-zero = lung), or the documented
  simple threshold segmentation: voxels below ``lung_threshold`` HU (default −400), minus the air
  connected to the volume's border, keeping components of at least 1% of the volume, with holes filled
  slice by slice so that consolidated lung inside the mask counts. Consolidation that touches the
  chest wall (juxtapleural) is not enclosed by aerated lung and is missed by this simple mask: give a
  mask from a dedicated segmentation tool for such studies.
* Involvement = % of lung voxels in each HU band (defaults: ground-glass [−750, −300), consolidation
  [−300, 50)); each study becomes an ``imaging`` event on the course's time axis and an entry in
  ``context.imaging`` (the imaging course).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from p4core.clinical.checks import check_index, check_not_future
from p4core.errors import InputError, require
from p4core.hooks import hookimpl, identifying
from p4core.model import Context

HU_RANGE = (-1100.0, 4000.0)


@dataclass
class ImagingConfig:
    #: studies: a folder of DICOM slices or a NIfTI file each
    series: list[str] = identifying(default_factory=list)
    #: study dates (ISO), one per study; null entries = read from DICOM
    dates: list[str | None] = field(default_factory=list)
    #: lung masks (NIfTI or .npy, non-zero = lung), one per study; empty = threshold segmentation
    masks: list[str | None] = identifying(default_factory=list)
    #: HU bands: name -> [low, high)
    bands: dict[str, list[float]] = field(
        default_factory=lambda: {"ground_glass": [-750.0, -300.0], "consolidation": [-300.0, 50.0]}
    )
    lung_threshold: float = -400.0
    #: the sampling day (day 0), ISO date
    index_date: str | None = None

    def __post_init__(self) -> None:
        require(bool(self.series), "context.imaging.series", "lists no study (DICOM folders or NIfTI files)")
        for k, key in ((self.dates, "dates"), (self.masks, "masks")):
            require(
                not k or len(k) == len(self.series),
                f"context.imaging.{key}",
                f"needs one entry per study ({len(self.series)})",
            )
        for key, value in [
            ("index_date", self.index_date),
            *((f"dates[{k}]", d) for k, d in enumerate(self.dates)),
        ]:
            if value:
                try:
                    dt.date.fromisoformat(str(value))
                except ValueError:
                    raise InputError(f"context.imaging.{key}: {value!r} is not a date (YYYY-MM-DD)") from None
        for name, b in self.bands.items():
            require(
                len(b) == 2 and b[0] < b[1],
                f"context.imaging.bands.{name}",
                f"must be [low, high) with low < high, got {b}",
            )


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            f'context=[imaging] reads DICOM/NIfTI with {module}: pip install "p4core[imaging]"'
        ) from None


def read_dicom_series(folder: Path) -> tuple[np.ndarray, dt.date | None, tuple[float, float, float]]:
    """(HU volume z, y, x sorted along the slice normal, study date, voxel spacing)."""
    pydicom = _need("pydicom")

    files = sorted(p for p in folder.iterdir() if p.is_file())
    if not files:
        raise InputError(f"{folder}: no DICOM files")
    slices = []
    for f in files:
        try:
            slices.append(pydicom.dcmread(f))
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
            raise InputError(f"{f}: not a readable DICOM file ({exc})") from None
    uids = {str(s.get("SeriesInstanceUID", "")) for s in slices}
    if len(uids) > 1:
        raise InputError(f"{folder}: {len(uids)} series mixed in one folder; give one folder per series")
    modality = {str(s.get("Modality", "")) for s in slices}
    if modality != {"CT"}:
        raise InputError(f"{folder}: modality {sorted(modality)}; lung involvement needs CT (HU)")
    for s, f in zip(slices, files, strict=True):
        if "ImagePositionPatient" not in s:
            raise InputError(f"{f}: no ImagePositionPatient: slices cannot be ordered")
    orient = np.array(slices[0].get("ImageOrientationPatient", [1, 0, 0, 0, 1, 0]), dtype=float)
    normal = np.cross(orient[:3], orient[3:])
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, dtype=float))))
    vol = np.stack(
        [
            s.pixel_array.astype(float) * float(s.get("RescaleSlope", 1))
            + float(s.get("RescaleIntercept", 0))
            for s in slices
        ]
    )
    date = None
    if slices[0].get("StudyDate"):
        date = dt.datetime.strptime(str(slices[0].StudyDate), "%Y%m%d").date()
    spacing = [float(x) for x in slices[0].get("PixelSpacing", [1, 1])]
    dz = float(slices[0].get("SliceThickness", 1) or 1)
    return vol, date, (dz, spacing[0], spacing[1])


def read_volume(path: Path) -> tuple[np.ndarray, dt.date | None]:
    if path.is_dir():
        vol, date, _ = read_dicom_series(path)
        return vol, date
    if not path.is_file():
        raise InputError(f"context.imaging.series: {path} does not exist")
    if path.suffix == ".npy":
        return np.load(path).astype(float), None
    nib = _need("nibabel")
    try:
        img = nib.load(str(path))
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable NIfTI file ({exc})") from None
    return np.asarray(img.dataobj, dtype=float).transpose(2, 1, 0), None  # x, y, z -> z, y, x


def lung_mask(hu: np.ndarray, threshold: float = -400.0) -> np.ndarray:
    """The simple threshold segmentation (see the module docstring)."""
    from scipy import ndimage

    air = hu < threshold
    labels, n = ndimage.label(air)
    border = set(
        np.unique(
            np.concatenate(
                [labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel(), labels[:, :, [0, -1]].ravel()]
            )
        )
    )
    sizes = ndimage.sum(air, labels, index=np.arange(1, n + 1))
    keep = [i + 1 for i, s in enumerate(sizes) if (i + 1) not in border and s >= 0.01 * hu.size]
    mask = np.isin(labels, keep)
    return np.stack([ndimage.binary_fill_holes(m) for m in mask])


def involvement(hu: np.ndarray, mask: np.ndarray, bands: dict[str, list[float]]) -> dict[str, float]:
    """% of lung voxels in each HU band, and their sum."""
    lung = hu[mask]
    if lung.size == 0:
        raise InputError("no lung voxels (check the mask or context.imaging.lung_threshold)")
    out = {f"{k}_pct": 100.0 * float(((lung >= lo) & (lung < hi)).mean()) for k, (lo, hi) in bands.items()}
    out["involvement_pct"] = float(sum(out.values()))
    out["lung_voxels"] = int(lung.size)
    return out


def load(cfg: ImagingConfig, context: Context, pseudonym_key: str | None = None) -> Context:
    index = (
        dt.date.fromisoformat(cfg.index_date)
        if cfg.index_date
        else (dt.date.fromisoformat(context.index_date) if context.index_date else None)
    )
    check_index(index, "context.imaging.index_date")
    for k, spec in enumerate(cfg.series):
        path = Path(spec)
        hu, date = read_volume(path)
        if cfg.dates and cfg.dates[k]:
            try:
                date = dt.date.fromisoformat(str(cfg.dates[k]))
            except ValueError:
                raise InputError(
                    f"context.imaging.dates[{k}]: {cfg.dates[k]!r} is not a date (YYYY-MM-DD)"
                ) from None
        check_not_future(date, f"{path}: study date")
        lo, hi = float(np.nanmin(hu)), float(np.nanmax(hu))
        if lo < HU_RANGE[0] or hi > HU_RANGE[1]:
            raise InputError(
                f"{path}: values [{lo:g}, {hi:g}] are not Hounsfield units (expected within {HU_RANGE})"
            )
        if cfg.masks and cfg.masks[k]:
            m, _ = read_volume(Path(str(cfg.masks[k])))
            if m.shape != hu.shape:
                raise InputError(f"{cfg.masks[k]}: mask shape {m.shape} differs from the study's {hu.shape}")
            mask = m != 0
        else:
            mask = lung_mask(hu, cfg.lung_threshold)
        res = involvement(hu, mask, dict(cfg.bands))
        day = float((date - index).days) if date and index else None
        context.imaging.append(
            {"study": k + 1, "date": date.isoformat() if date else None, "day": day, "modality": "CT", **res}
        )
        if day is not None:
            parts = ", ".join(f"{b.replace('_', '-')} {res[f'{b}_pct']:.0f}%" for b in cfg.bands)
            context.events.append(
                {
                    "time": day,
                    "kind": "imaging",
                    "label": f"CT: lung involvement {res['involvement_pct']:.0f}% ({parts})",
                }
            )
    return context


@hookimpl
def p4core_register_context(register):
    register(
        "imaging",
        load,
        schema=ImagingConfig,
        description="CT lung involvement over time (DICOM/NIfTI)",
        check=_check,
    )


def _check(cfg: ImagingConfig) -> None:
    for option, paths in (("context.imaging.series", cfg.series), ("context.imaging.masks", cfg.masks)):
        for p in paths:
            if p is not None and not Path(p).exists():
                raise InputError(
                    f"{option}: {p} does not exist (give a DICOM folder or a NIfTI file per study)"
                )
