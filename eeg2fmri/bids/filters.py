"""pybids-style selection filters (``--bids-filter-file``), applied to scanned files.

Values follow :meth:`bids.BIDSLayout.get`: a label, a list (any of; it may hold
None), None (entity absent), ``"*"`` or ``Query.ANY`` (present with any value),
``Query.OPTIONAL`` (no constraint); run-like indices match as numbers.
"""

import difflib

from ._entities import ENTITY_KEYS, norm_value
from ._scanning import _as_labels
from .interop import ANY, OPTIONAL


def _filter_value(value, where):
    """One filter value in our form: labels as str, None, ANY or OPTIONAL."""
    if value is None or value is ANY or value is OPTIONAL:
        return value
    if isinstance(value, str):
        return ANY if value == "*" else value
    if isinstance(value, bool):
        raise TypeError(
            f"{where}: expected a label, a list, null or '*', got {value!r}"
        )
    if isinstance(value, int):
        return str(value)
    name = getattr(value, "name", None)
    if type(value).__name__ == "Query" and name in ("ANY", "REQUIRED", "NONE",
                                                    "OPTIONAL"):
        # pybids' bids.layout.Query enum
        return {"ANY": ANY, "REQUIRED": ANY, "NONE": None, "OPTIONAL": OPTIONAL}[name]
    raise TypeError(
        f"{where}: expected a label, a list, null or '*', got {type(value).__name__}"
    )


def _normalize_filters(bids_filters):
    """Validate pybids-style filters; short entity keys, values in our form."""
    if bids_filters is None:
        return {"eeg": {}, "bold": {}}
    if not isinstance(bids_filters, dict):
        raise TypeError(
            f"bids_filters must be a dict like {{'bold': {{'space': 'T1w'}}}}, got "
            f"{type(bids_filters).__name__}"
        )
    unknown = set(bids_filters) - {"eeg", "bold"}
    if unknown:
        raise ValueError(
            f"bids_filters: unknown key(s) {sorted(unknown)}; expected 'eeg' and/or "
            "'bold'"
        )
    out = {}
    for modality in ("eeg", "bold"):
        query = bids_filters.get(modality) or {}
        if not isinstance(query, dict):
            raise TypeError(
                f"bids_filters[{modality!r}] must be a dict, got {type(query).__name__}"
            )
        norm = {}
        for key, value in query.items():
            where = f"bids_filters[{modality!r}][{key!r}]"
            if isinstance(value, list | tuple | set):
                value = [_filter_value(v, where) for v in value]
            else:
                value = _filter_value(value, where)
            if key == "extension":
                norm[key] = [
                    v if v is None or isinstance(v, type(ANY)) or v.startswith(".")
                    else f".{v}"
                    for v in (value if isinstance(value, list) else [value])
                ]
            elif key in ("suffix", "datatype"):
                wanted = {"eeg": "eeg", "bold": "bold" if key == "suffix" else "func"}
                options = value if isinstance(value, list) else [value]
                if wanted[modality] not in options and OPTIONAL not in options:
                    raise ValueError(
                        f"{where}: {value!r} selects no {modality.upper()} file; "
                        f"eeg2fmri reads {key} {wanted[modality]!r} (leave it out)"
                    )
                norm[key] = value
            elif key in ENTITY_KEYS or key in ENTITY_KEYS.values():
                norm[ENTITY_KEYS.get(key, key)] = value
            else:
                close = difflib.get_close_matches(key, list(ENTITY_KEYS), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"bids_filters[{modality!r}]: unknown entity {key!r}{hint}"
                )
        out[modality] = norm
    return out


def _matches(f, query):
    """Whether file ``f`` passes a normalized query (pybids ``get`` semantics)."""
    for key, wanted in query.items():
        if key == "extension":
            have = f.extension
        elif key == "suffix":
            have = f.suffix
        elif key == "datatype":
            have = f.datatype
        else:
            have = f.entities.get(key)
        options = wanted if isinstance(wanted, list) else [wanted]
        if OPTIONAL in options:
            continue
        ok = False
        for option in options:
            if option is None:
                ok = ok or have is None
            elif option is ANY:
                ok = ok or have is not None
            elif have is not None and norm_value(key, have) == norm_value(key, option):
                ok = True
        if not ok:
            return False
    return True


def _merge_selection(name, given, from_path):
    if from_path is None:
        return given
    if given is not None and _as_labels(given, name) != _as_labels(from_path, name):
        raise ValueError(
            f"{name}={given!r} conflicts with the BIDSPath's value {from_path!r}"
        )
    return from_path


def _merge_filters(bids_filters, extra):
    merged = {k: dict(v) for k, v in (bids_filters or {}).items()
              if isinstance(v, dict)}
    if bids_filters is not None and not isinstance(bids_filters, dict):
        return bids_filters  # _normalize_filters reports the type error
    for modality, query in extra.items():
        if not query:
            continue
        target = merged.setdefault(modality, {})
        for key, value in query.items():
            if key in target and target[key] != value:
                raise ValueError(
                    f"bids_filters[{modality!r}][{key!r}]={target[key]!r} conflicts "
                    f"with the BIDSPath's value {value!r}"
                )
            target[key] = value
    return merged
