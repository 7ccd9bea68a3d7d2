"""`desktop-chat agents`: the agents and their keys, by the window's rules (engine.agents)."""

from __future__ import annotations

import argparse
import os
import sys

from desktop_chat.app import Core
from desktop_chat.commands.common import EXIT_OK, EXIT_USAGE, CliError
from desktop_chat.engine.agents import KeyStatus
from desktop_chat.schemas import Agent, AgentParams, ChatMessage, validation_message
from desktop_chat.secrets import ENV_FALLBACK

KEY_WORDS = {
    KeyStatus.STORED: "key set",
    KeyStatus.SESSION: "key for this session",
    KeyStatus.ENVIRONMENT: f"key from {ENV_FALLBACK}",
    KeyStatus.NONE: "no key",
}


async def agents_command(core: Core, args: argparse.Namespace) -> int:
    """The agents and their keys, by the same rules as the window (engine.agents)."""
    agents = core.agents
    if args.action == "list":
        for agent in await agents.list():
            mark = "*" if agent.is_default else " "
            key = KEY_WORDS[await agents.key_status(agent.key_ref)]
            print(f"{mark} {agent.name}\t{agent.model}\t{agent.base_url}\t{key}\t{agent.agent_id}")
        return EXIT_OK
    if args.action == "remove":
        removed = await agents.remove(args.agent)
        print(f"Removed agent {removed.name}.")
        return EXIT_OK
    base = await agents.get(args.agent) if args.action == "edit" else None
    # No session-only keys here: the process ends with the command, and the key with it.
    saved = (await agents.save(_agent_from_args(args, base), _read_key(args) or "")).agent
    print(f"Saved agent {saved.name} ({saved.agent_id}).")
    return EXIT_OK


def _agent_from_args(args: argparse.Namespace, base: Agent | None) -> Agent:
    data = base.model_dump() if base else {}
    for field, value in (
        ("name", args.name),
        ("base_url", args.base_url),
        ("model", args.model),
        ("provider", args.provider),
    ):
        if value is not None:
            data[field] = value
    params = dict(data.get("params") or {})
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    try:
        data["params"] = AgentParams.model_validate(params).model_dump()
        if args.system is not None:
            rest = [m for m in data.get("preset_messages", []) if m["role"] != "system"]
            data["preset_messages"] = [
                ChatMessage(role="system", content=args.system).model_dump(),
                *rest,
            ]
        if args.default:
            data["is_default"] = True
        if args.vision is not None:
            data["vision"] = args.vision
        elif args.provider is not None and base is not None and args.provider != base.provider:
            data.pop("vision", None)  # guessed again for the new provider
        if args.tools is not None:
            choice = args.tools.strip()
            named = [s.strip() for s in choice.split(",") if s.strip()]
            data["tools"] = choice if choice in ("all", "none") else named
        return Agent.model_validate(data)
    except ValueError as exc:
        raise CliError(f"invalid agent: {validation_message(exc)}", EXIT_USAGE) from None


def _read_key(args: argparse.Namespace) -> str | None:
    if args.key_env:
        secret = os.environ.get(args.key_env)
        if not secret:
            raise CliError(f"the environment variable {args.key_env} is empty or unset", EXIT_USAGE)
        return secret
    if args.key_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CliError("no key was given on stdin", EXIT_USAGE)
        return secret
    return None


# Conversations ---------------------------------------------------------------------
