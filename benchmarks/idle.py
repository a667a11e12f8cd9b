"""Waiting until Home Assistant is idle, streams aside (the bench, the soak and the tests)."""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant

from custom_components.ev_charge_control.const import LONG_LIVED_TASK


async def block_till_idle(hass: HomeAssistant) -> None:
    """Wait for every task and background task, but those that run until their entry unloads.

    ``async_block_till_done(wait_background_tasks=True)`` would wait for ever for a stream,
    whose task's name ends with ``LONG_LIVED_TASK``.
    """
    current = asyncio.current_task()
    while True:
        await hass.async_block_till_done()
        pending = [
            task
            for task in hass._background_tasks  # noqa: SLF001 - the only list of them
            if isinstance(task, asyncio.Task)
            and not task.done()
            and task is not current
            and not task.get_name().endswith(LONG_LIVED_TASK)
        ]
        if not pending:
            return
        await asyncio.wait(pending)
