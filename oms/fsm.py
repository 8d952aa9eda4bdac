"""django-fsm-2's ``ConcurrentTransitionMixin``, with its state fields found
once per model class.

The library's ``state_fields`` filters every field of the model through a
lambda, and ``__init__`` calls it for every instance loaded: about 5 % of an
API request's time (a return has some 35 fields; a return detail loads a dozen
instances). The fields of a model class do not change once Django has set it
up, so they are looked up on the first instance and kept on the class. The
behaviour (the optimistic state check on save) is the library's own.
"""

from __future__ import annotations

from django_fsm import ConcurrentTransitionMixin as _Mixin
from django_fsm import FSMFieldMixin


class ConcurrentTransitionMixin(_Mixin):
    @property
    def state_fields(self):
        cls = type(self)
        fields = cls.__dict__.get("_oms_state_fields")
        if fields is None:
            fields = tuple(f for f in self._meta.fields if isinstance(f, FSMFieldMixin))
            cls._oms_state_fields = fields  # type: ignore[attr-defined]
        return fields
