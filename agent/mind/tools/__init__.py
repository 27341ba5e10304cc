"""The mind's tools: one small module per tool, registered by name (see :mod:`agent.mind.tools._tool`)."""

from agent.mind.tools._tool import Risk, Tool, ToolContext, ToolResult

__all__ = ["Risk", "Tool", "ToolContext", "ToolResult"]
