"""LLM backends behind one small Protocol: Ollama, OpenAI-compatible, recorded and replayed, and an
offline lexical embedder. Every failure is a classified :class:`~llm.errors.LLMError`.

The fault-injecting Ollama simulator lives in :mod:`llm.simulator` (it needs aiohttp).
"""

from __future__ import annotations

from llm._exchange import (
    Exchange,
    ExchangeSink,
    ExchangeStore,
    InMemoryExchangeStore,
    decode_response,
    encode_response,
    request_key,
)
from llm._factory import BackendSettings, OptionSettings, backend_from_settings, ollama_host_url
from llm._forwarding import Call, ForwardingBackend
from llm._http import HttpConfig
from llm._http_backend import RequestHeaders
from llm._lexical import LexicalEmbedder, vectorizer_for
from llm._ollama import OllamaBackend
from llm._openai import OpenAIBackend
from llm._protocol import Embedder, LLMBackend
from llm._recording import RecordingBackend, ReplayBackend
from llm._types import ChatResult, Chunk, Embeddings, Format, GenerateResult, Message, ModelInfo, Role, Usage
from llm.errors import (
    BadRequestError,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    OverloadedError,
    ProtocolError,
    ReplayMissError,
    ServerError,
    StreamError,
    TransportError,
)

__all__ = [
    "BackendSettings",
    "BadRequestError",
    "Call",
    "ChatResult",
    "Chunk",
    "Embedder",
    "Embeddings",
    "Exchange",
    "ExchangeSink",
    "ExchangeStore",
    "Format",
    "ForwardingBackend",
    "GenerateResult",
    "HttpConfig",
    "InMemoryExchangeStore",
    "LLMBackend",
    "LLMError",
    "LLMTimeoutError",
    "LexicalEmbedder",
    "Message",
    "ModelInfo",
    "ModelNotFoundError",
    "OllamaBackend",
    "OpenAIBackend",
    "OptionSettings",
    "OverloadedError",
    "ProtocolError",
    "RecordingBackend",
    "ReplayBackend",
    "ReplayMissError",
    "RequestHeaders",
    "Role",
    "ServerError",
    "StreamError",
    "TransportError",
    "Usage",
    "backend_from_settings",
    "decode_response",
    "encode_response",
    "ollama_host_url",
    "request_key",
    "vectorizer_for",
]
