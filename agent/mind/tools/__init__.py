"""The mind's tools: one small module per tool, registered by name (see :mod:`agent.mind.tools._tool`)."""

from agent.mind.tools._due import parse_due
from agent.mind.tools._goal import GoalTool
from agent.mind.tools._message import MessageTool, in_active_hours
from agent.mind.tools._note import NoteTool
from agent.mind.tools._observe import ObserveTool
from agent.mind.tools._recall import RecallTool
from agent.mind.tools._reflect import ReflectTool
from agent.mind.tools._registry import ToolPolicy, ToolRegistry, default_tools
from agent.mind.tools._remember import RememberTool
from agent.mind.tools._tagged import tagged_errors
from agent.mind.tools._tool import Risk, Tool, ToolContext, ToolResult

__all__ = [
    "GoalTool",
    "MessageTool",
    "NoteTool",
    "ObserveTool",
    "RecallTool",
    "ReflectTool",
    "RememberTool",
    "Risk",
    "Tool",
    "ToolContext",
    "ToolPolicy",
    "ToolRegistry",
    "ToolResult",
    "default_tools",
    "in_active_hours",
    "parse_due",
    "tagged_errors",
]
