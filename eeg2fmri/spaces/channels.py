"""EEG channel names across caps: canonical names, the usual 10-20 aliases, matching.

Labs write the same electrode site in different ways: ``FP1`` / ``Fp1`` (case), the
old 10-20 temporal names ``T3``/``T4``/``T5``/``T6`` for what the 10-10 system calls
``T7``/``T8``/``P7``/``P8``, ``EKG`` for ``ECG``. A recording is matched to a model's
channels by these canonical names, never by position.

MNE's own alias table (``set_montage(match_alias=True)``) maps T5/T6 to T9/T10 (its
``_BUILTIN_STANDARD_ALIASES``); the convention of the 10-10 system (Oostenveld &
Praamstra 2001, Table 1; American Clinical Neurophysiology Society guideline 2, 2006)
is T5 -> P7 and T6 -> P8, which is the table used here.
"""

from dataclasses import dataclass, field

__all__ = [
    "CHANNEL_ALIASES",
    "canonical_channel_name",
    "ChannelMatch",
    "match_channels",
]

#: Alternative name -> the 10-10 name it stands for (compared case-insensitively).
CHANNEL_ALIASES = {
    "T3": "T7",
    "T4": "T8",
    "T5": "P7",
    "T6": "P8",
    "EKG": "ECG",
}
_ALIASES = {k.upper(): v.upper() for k, v in CHANNEL_ALIASES.items()}


def canonical_channel_name(name):
    """Upper-case 10-10 name of a channel (aliases resolved, blanks stripped).

    Parameters
    ----------
    name : str
        A channel name as written in a recording (``"FP1"``, ``"T3"``, ``" Cz "``).

    Returns
    -------
    canonical : str
        ``"FP1"``, ``"T7"``, ``"CZ"``.

    Examples
    --------
    >>> canonical_channel_name("T5"), canonical_channel_name("fp1")
    ('P7', 'FP1')
    """
    key = str(name).strip().upper()
    return _ALIASES.get(key, key)


@dataclass
class ChannelMatch:
    """How the channels of a recording map onto a model's channels.

    Attributes
    ----------
    mapping : dict of str to str
        Model channel name -> recording channel name, for every model channel found
        in the recording.
    renamed : dict of str to str
        Recording name -> model name, for the matches whose spelling differs (case or
        alias).
    missing : list of str
        Model channels the recording lacks, in model order.
    extra : list of str
        Recording channels the model does not use, in recording order.
    reordered : bool
        Whether the matched channels come in another order than the model's.
    """

    mapping: dict = field(default_factory=dict)
    renamed: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    extra: list = field(default_factory=list)
    reordered: bool = False


def match_channels(model_names, recording_names, *, source="recording"):
    """Match a recording's channels to a model's by canonical name.

    Parameters
    ----------
    model_names : sequence of str
        The model's channels, in training order.
    recording_names : sequence of str
        The recording's channels, in file order.
    source : str, default="recording"
        What the recording is, for error messages (e.g. its file name).

    Returns
    -------
    match : ChannelMatch

    Raises
    ------
    ValueError
        Two channels of the model, or of the recording, have the same canonical
        name (e.g. both ``T3`` and ``T7``): the match would be ambiguous.
    """
    model_keys = _unique_keys(model_names, "the model")
    rec_keys = _unique_keys(recording_names, source)
    match = ChannelMatch()
    for key, model_name in model_keys.items():
        if key in rec_keys:
            rec_name = rec_keys[key]
            match.mapping[model_name] = rec_name
            if rec_name != model_name:
                match.renamed[rec_name] = model_name
        else:
            match.missing.append(model_name)
    used = set(match.mapping.values())
    match.extra = [n for n in recording_names if n not in used]
    found_order = [n for n in recording_names if n in used]
    model_order = [match.mapping[n] for n in model_names if n in match.mapping]
    match.reordered = found_order != model_order
    return match


def _unique_keys(names, source):
    keys = {}
    for name in names:
        key = canonical_channel_name(name)
        if key in keys:
            raise ValueError(
                f"{source}: channels {keys[key]!r} and {name!r} name the same site "
                f"({key}); expected each electrode once"
            )
        keys[key] = name
    return keys
