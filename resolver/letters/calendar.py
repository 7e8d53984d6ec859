"""An iCalendar (.ics) reminder for a staff task: "check back in a week", put in the manager's calendar."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from icalendar import Alarm, Calendar, Event


def task_event(*, uid: str, starts_dt: datetime, summary: str, description: str, url: str = "",
               now: datetime, minutes: int = 15) -> bytes:
    """One event with a reminder at its start, as the bytes of a .ics file."""
    event = Event()
    event.add("uid", uid)
    # In UTC, so every calendar shows the same moment without needing the company's zone definition.
    event.add("dtstamp", now.astimezone(timezone.utc))
    event.add("dtstart", starts_dt.astimezone(timezone.utc))
    event.add("dtend", (starts_dt + timedelta(minutes=minutes)).astimezone(timezone.utc))
    event.add("summary", summary)
    event.add("description", description)
    if url:
        event.add("url", url)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", timedelta(0))
    event.add_component(alarm)

    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", "-//Resolver//Follow-up reminder//EN")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical()
