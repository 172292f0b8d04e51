"""Serializers: how messages and results become bytes.

* :class:`Serializer` keeps the original huey's behaviour and extension points: pickle,
  optional gzip or zlib compression, and ``_serialize`` / ``_deserialize`` to override
  for another format. It is the default.
* :class:`JSONSerializer` carries JSON values plus a small registry of types, and
  never runs code chosen by whoever wrote the bytes; :data:`JSONValue` is the type of
  what it carries, for task signatures.
* :class:`SignedSerializer` wraps any serializer and refuses, before decompressing or
  decoding anything, bytes not signed with the application's secret for this queue.

Anything with ``serialize``/``deserialize`` methods satisfies the
:class:`huey.protocols.Serializer` protocol and can be passed as ``Huey(serializer=...)``.
See :doc:`/security` for which one to choose.

.. warning::
    Unpickling runs code chosen by whoever wrote the bytes. With the default
    :class:`Serializer`, anyone able to write to your storage can run code in your
    consumers (and in every program that reads a result). Protect the storage, or use
    ``SignedSerializer(JSONSerializer(), secret)``.
"""

from __future__ import annotations

from ._json_codec import JSONSerializer, JSONValue
from ._pickle import Serializer
from ._signing import SignedSerializer

__all__ = ("JSONSerializer", "JSONValue", "Serializer", "SignedSerializer")
