"""Shared docstring text: one wording for a parameter that several functions take.

:func:`doc_filler` turns a dict of numpydoc entries into a decorator that replaces
every line ``%(name)s`` of a docstring by the entry ``name``, indented as that line::

    _fill_doc = doc_filler({"tr": "tr : float\\n    Repetition time (s)."})

    @_fill_doc
    def f(tr):
        '''One line.

        Parameters
        ----------
        %(tr)s
        '''

Only whole placeholder lines are replaced, so a docstring's other ``%`` signs need no
escaping. Entries are written without indentation (continuation lines indented by 4
spaces, as in numpydoc).
"""

# SPDX-License-Identifier: BSD-3-Clause

import re
import textwrap

__all__ = ["doc_filler"]

_PLACEHOLDER = re.compile(r"^(?P<indent>[ ]*)%\((?P<name>\w+)\)s[ ]*$", re.MULTILINE)


def doc_filler(entries):
    """A decorator that fills ``%(name)s`` lines of ``__doc__`` from ``entries``.

    Parameters
    ----------
    entries : dict of str to str
        Entry name -> numpydoc text (first line unindented, continuation lines
        indented by 4 spaces).

    Returns
    -------
    callable
        Decorator of a function or class: returns it with its docstring filled.
        A placeholder without an entry raises KeyError naming the object and the
        entry.
    """
    entries = {
        name: textwrap.dedent(text).strip("\n") for name, text in entries.items()
    }

    def fill_doc(obj):
        if obj.__doc__ is None:  # python -OO
            return obj

        def entry(match):
            name = match["name"]
            if name not in entries:
                raise KeyError(
                    f"docstring of {obj.__qualname__} names %({name})s, which is not a "
                    f"shared entry; expected one of {sorted(entries)}"
                )
            return textwrap.indent(entries[name], match["indent"])

        obj.__doc__ = _PLACEHOLDER.sub(entry, obj.__doc__)
        return obj

    return fill_doc
