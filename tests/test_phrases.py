"""Plain-language triggers: schedule phrases -> (cron, IANA zone), event phrases -> names."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from adapter import TriggerCron, TriggerEvent
from adapter._authoring.describe import parse_description
from adapter._authoring.errors import PhraseError
from adapter._authoring.events import EventSpec, parse_event
from adapter._authoring.inflection import past_participle, singular
from adapter._authoring.schedule import Schedule, parse_schedule
from adapter._authoring.zones import resolve_zone, zone_aliases
from adapter._define.cron import parse_cron

SCHEDULES = [
    # intervals
    ("every minute", "* * * * *", "UTC"),
    ("every 1 minute", "* * * * *", "UTC"),
    ("every 5 minutes", "*/5 * * * *", "UTC"),
    ("every 15 minutes", "*/15 * * * *", "UTC"),
    ("every fifteen minutes", "*/15 * * * *", "UTC"),
    ("every 10 mins", "*/10 * * * *", "UTC"),
    ("every half hour", "*/30 * * * *", "UTC"),
    ("every quarter of an hour", "*/15 * * * *", "UTC"),
    ("twice an hour", "*/30 * * * *", "UTC"),
    ("every 60 minutes", "0 * * * *", "UTC"),
    ("every 120 minutes", "0 */2 * * *", "UTC"),
    ("hourly", "0 * * * *", "UTC"),
    ("every hour", "0 * * * *", "UTC"),
    ("once an hour", "0 * * * *", "UTC"),
    ("every other hour", "0 */2 * * *", "UTC"),
    ("every 2 hours", "0 */2 * * *", "UTC"),
    ("every 6 hours", "0 */6 * * *", "UTC"),
    ("every 12 hours", "0 */12 * * *", "UTC"),
    ("every 24 hours", "0 0 * * *", "UTC"),
    ("every hour at :15", "15 * * * *", "UTC"),
    ("hourly at 30 minutes past the hour", "30 * * * *", "UTC"),
    ("every 30 minutes on weekdays", "*/30 * * * 1-5", "UTC"),
    ("every hour on weekends", "0 * * * 6,0", "UTC"),
    # days
    ("daily", "0 0 * * *", "UTC"),
    ("daily at 9 AM", "0 9 * * *", "UTC"),
    ("daily at 9am", "0 9 * * *", "UTC"),
    ("every day at 9 a.m.", "0 9 * * *", "UTC"),
    ("every day at 9:30 pm", "30 21 * * *", "UTC"),
    ("every day at 21:15", "15 21 * * *", "UTC"),
    ("every single day at 7:05am", "5 7 * * *", "UTC"),
    ("once a day at 6 PM", "0 18 * * *", "UTC"),
    ("at midnight", "0 0 * * *", "UTC"),
    ("at noon", "0 12 * * *", "UTC"),
    ("at 12am", "0 0 * * *", "UTC"),
    ("at 12pm", "0 12 * * *", "UTC"),
    ("at 17", "0 17 * * *", "UTC"),
    ("at 6 in the evening", "0 18 * * *", "UTC"),
    ("at 8 in the morning", "0 8 * * *", "UTC"),
    ("twice a day at 9am and 5pm", "0 9,17 * * *", "UTC"),
    ("twice daily at 08:00 and 20:00", "0 8,20 * * *", "UTC"),
    ("three times a day at 8am, 12pm and 6pm", "0 8,12,18 * * *", "UTC"),
    ("daily at 9:00 and 9:30", "0,30 9 * * *", "UTC"),
    ("at noon and midnight", "0 0,12 * * *", "UTC"),
    # weekdays
    ("every weekday at 9 AM", "0 9 * * 1-5", "UTC"),
    ("weekdays at 8:30", "30 8 * * 1-5", "UTC"),
    ("on weekdays at 17:00", "0 17 * * 1-5", "UTC"),
    ("every working day at 9am", "0 9 * * 1-5", "UTC"),
    ("every business day at noon", "0 12 * * 1-5", "UTC"),
    ("every weekend", "0 0 * * 6,0", "UTC"),
    ("every weekend at 10am", "0 10 * * 6,0", "UTC"),
    ("every Monday", "0 0 * * 1", "UTC"),
    ("every Monday at 9 AM", "0 9 * * 1", "UTC"),
    ("every Sunday at 10pm", "0 22 * * 0", "UTC"),
    ("Mondays at 9:15am", "15 9 * * 1", "UTC"),
    ("on Fridays at 4 pm", "0 16 * * 5", "UTC"),
    ("every Monday and Wednesday at 21:15", "15 21 * * 1,3", "UTC"),
    ("every Monday, Wednesday and Friday at 7 am", "0 7 * * 1,3,5", "UTC"),
    ("every Tue & Thu at 11:00", "0 11 * * 2,4", "UTC"),
    ("Monday to Friday at 8am", "0 8 * * 1-5", "UTC"),
    ("from Monday through Thursday at 18:00", "0 18 * * 1-4", "UTC"),
    ("Mon-Fri at 08:30", "30 8 * * 1-5", "UTC"),
    ("every Friday to Monday at 9am", "0 9 * * 1,5,6,0", "UTC"),
    ("weekly on Monday at 9am", "0 9 * * 1", "UTC"),
    ("once a week on Sunday at midnight", "0 0 * * 0", "UTC"),
    ("every week on Thursday at 3 PM", "0 15 * * 4", "UTC"),
    # months
    ("monthly", "0 0 1 * *", "UTC"),
    ("every month", "0 0 1 * *", "UTC"),
    ("on the 1st of every month at midnight", "0 0 1 * *", "UTC"),
    ("on the first of each month at 9am", "0 9 1 * *", "UTC"),
    ("on the 15th of every month at noon", "0 12 15 * *", "UTC"),
    ("on the 1st and 15th of every month at 9am", "0 9 1,15 * *", "UTC"),
    ("every month on the 5th at 6:30", "30 6 5 * *", "UTC"),
    ("monthly on the 28th at 23:59", "59 23 28 * *", "UTC"),
    ("on the twentieth of the month at 10 am", "0 10 20 * *", "UTC"),
    ("once a month", "0 0 1 * *", "UTC"),
    # zones: IANA names, cities, abbreviations
    ("every weekday at 9 AM Berlin time", "0 9 * * 1-5", "Europe/Berlin"),
    ("every weekday at 9:30 am Europe/Berlin", "30 9 * * 1-5", "Europe/Berlin"),
    ("daily at 9 AM New York", "0 9 * * *", "America/New_York"),
    ("daily at 9 AM in New York", "0 9 * * *", "America/New_York"),
    ("daily at 9 AM New York time", "0 9 * * *", "America/New_York"),
    ("every day at 9 AM (London)", "0 9 * * *", "Europe/London"),
    ("every day at 8am Paris time", "0 8 * * *", "Europe/Paris"),
    ("every weekday at 9 a.m. in Tokyo", "0 9 * * 1-5", "Asia/Tokyo"),
    ("every Sunday at 10pm Sydney", "0 22 * * 0", "Australia/Sydney"),
    ("daily at 7am San Francisco time", "0 7 * * *", "America/Los_Angeles"),
    ("daily at 7am LA", "0 7 * * *", "America/Los_Angeles"),
    ("daily at 7am Los Angeles", "0 7 * * *", "America/Los_Angeles"),
    ("daily at 6pm Chicago", "0 18 * * *", "America/Chicago"),
    ("daily at noon Lisbon time", "0 12 * * *", "Europe/Lisbon"),
    ("daily at 9 AM UTC", "0 9 * * *", "UTC"),
    ("daily at 9 AM GMT", "0 9 * * *", "UTC"),
    ("daily at 9 AM CET", "0 9 * * *", "Europe/Berlin"),
    ("daily at 9 AM CEST", "0 9 * * *", "Europe/Berlin"),
    ("every day at 9 AM ET", "0 9 * * *", "America/New_York"),
    ("every day at 9 AM EST", "0 9 * * *", "America/New_York"),
    ("every day at 9 AM EDT", "0 9 * * *", "America/New_York"),
    ("every day at 9 AM Eastern Time", "0 9 * * *", "America/New_York"),
    ("every day at 9 AM CT", "0 9 * * *", "America/Chicago"),
    ("every day at 9 AM CDT", "0 9 * * *", "America/Chicago"),
    ("every day at 9 AM MT", "0 9 * * *", "America/Denver"),
    ("every day at 9 AM PT", "0 9 * * *", "America/Los_Angeles"),
    ("every day at 9 AM PST", "0 9 * * *", "America/Los_Angeles"),
    ("every day at 9 AM Pacific Standard Time", "0 9 * * *", "America/Los_Angeles"),
    ("every Monday, Wednesday and Friday at 7 am PDT", "0 7 * * 1,3,5", "America/Los_Angeles"),
    ("every day at 9 AM IST", "0 9 * * *", "Asia/Kolkata"),
    ("every day at 9 AM JST", "0 9 * * *", "Asia/Tokyo"),
    ("every day at 9 AM AEST", "0 9 * * *", "Australia/Sydney"),
    ("on weekdays at 17:00 Europe/Paris", "0 17 * * 1-5", "Europe/Paris"),
    ("every hour America/Argentina/Buenos_Aires", "0 * * * *", "America/Argentina/Buenos_Aires"),
    ("on the 1st of every month at 6am New York time", "0 6 1 * *", "America/New_York"),
    ("every 15 minutes Berlin time", "*/15 * * * *", "Europe/Berlin"),
]


@pytest.mark.parametrize(("phrase", "cron", "zone"), SCHEDULES)
def test_schedule_phrases(phrase: str, cron: str, zone: str) -> None:
    schedule = parse_schedule(phrase)
    assert (schedule.cron, schedule.timezone) == (cron, zone)
    parse_cron(schedule.cron, schedule.timezone)  # and the adapter accepts it


def test_the_table_is_big_enough() -> None:
    assert len(SCHEDULES) >= 60


@pytest.mark.parametrize(
    ("phrase", "reason"),
    [
        ("every blue moon", '"every blue moon" is not a schedule I know'),
        ("at 25:00", '"25:00" is not a time of day (hours go 0-23)'),
        ("at 9:75", "minutes go 0-59"),
        ("at 13 pm", "12-hour times go 1-12"),
        ("at 9", '"at 9" could be morning or evening'),
        ("every 7 minutes", "every 7 minutes does not divide the hour"),
        ("every 90 minutes", "every 90 minutes does not divide the hour"),
        ("every 5 hours", "every 5 hours does not divide the day"),
        ("every 30 seconds", "minute resolution"),
        ("every other day", '"every other day" cannot be a cron'),
        ("every 3 days", '"every 3 days" cannot be a cron'),
        ("every 2 weeks", '"every 2 weeks" cannot be a cron'),
        ("every other Monday", '"every other monday" cannot be a cron'),
        ("yearly", "yearly schedules are not supported"),
        ("on the last day of the month", "no last-day-of-month"),
        ("on the last Friday of the month", "no last-day-of-month"),
        ("on the first Monday of the month", "cannot be a Temporal cron"),
        ("on the 31st of every month", "not every month has a day 31"),
        ("weekly", '"weekly" needs a day'),
        ("twice a day", "it says 2 times a day but gives 0 time(s)"),
        ("twice a day at 9am", "it says 2 times a day but gives 1 time(s)"),
        ("twice a week", "cannot be a cron without naming the days"),
        ("daily at 9:00 and 17:30", "differ in both hour and minute"),
        ("every 15 minutes at 9 AM", "both an interval and times of day"),
        ("every Monday or Tuesday", '"or" between days is ambiguous'),
        ("on the 1st on Mondays", "both days of the month and days of the week"),
        ("daily at 9 AM UTC+2", '"UTC+2" is a fixed UTC offset'),
        ("daily at 9 AM GMT-5", '"GMT-5" is a fixed UTC offset'),
        ("daily at 9 AM local time", '"local time" does not say which zone'),
        ("daily at 9 AM Berlin and Paris time", "two time zones"),
        ("at 9 AM Mars", '"mars" is not part of a schedule I know'),
        ("daily at 9 AM Europe/Berln", "is not part of a schedule I know"),
        ("nightly", '"nightly" does not say when'),
        ("daily on the 1st", "both daily and monthly"),
        ("sometime next week", '"sometime" is not part of a schedule I know'),
        ("", "it is empty"),
    ],
)
def test_unreadable_schedules_are_errors_that_show_the_phrase(phrase: str, reason: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_schedule(phrase)
    message = str(info.value)
    assert reason in message
    assert f'"{phrase}"' in message
    assert 'Phrases that work: "every 15 minutes"' in message


@pytest.mark.parametrize(
    ("phrase", "july_utc_hour", "january_utc_hour"),
    [
        ("daily at 9 AM New York", 13, 14),
        ("every weekday at 9 AM Berlin time", 7, 8),
        ("daily at 9 AM Sydney", 23, 22),  # southern hemisphere: summer in January
        ("daily at 9 AM Tokyo", 0, 0),  # no daylight saving
    ],
)
def test_zones_follow_daylight_saving(
    phrase: str, july_utc_hour: int, january_utc_hour: int
) -> None:
    schedule = parse_schedule(phrase)
    spec = parse_cron(schedule.cron, schedule.timezone)
    july = spec.next_times(1, after=datetime(2026, 7, 1, tzinfo=UTC))[0]
    january = spec.next_times(1, after=datetime(2027, 1, 4, tzinfo=UTC))[0]
    assert (july.hour, january.hour) == (9, 9)  # 9 AM local all year
    assert july.astimezone(UTC).hour == july_utc_hour
    assert january.astimezone(UTC).hour == january_utc_hour


def test_schedule_trigger_and_words() -> None:
    berlin = parse_schedule("every weekday at 9 AM Berlin time")
    assert berlin.trigger == TriggerCron(cron="0 9 * * 1-5", timezone="Europe/Berlin")
    assert berlin.describe() == "At 09:00, Monday through Friday, Europe/Berlin"
    utc = parse_schedule("every hour")
    assert utc.trigger == TriggerCron(cron="0 * * * *")  # UTC is the default; no timezone
    assert utc.describe() == "Every hour, UTC"


def test_every_zone_alias_is_a_real_iana_zone() -> None:
    for name, zone in zone_aliases().items():
        assert ZoneInfo(zone), name
    assert zone_aliases()["cet"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Berlin", "Europe/Berlin"),
        ("New York", "America/New_York"),
        ("san francisco", "America/Los_Angeles"),
        ("Lisbon", "Europe/Lisbon"),  # from the IANA database's own city names
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("asia/tokyo", "Asia/Tokyo"),
        ("PT", "America/Los_Angeles"),
        ("IST", "Asia/Kolkata"),
    ],
)
def test_resolve_zone(text: str, zone: str) -> None:
    assert resolve_zone(text) == zone


def test_resolve_zone_refuses_offsets_and_unknown_names() -> None:
    with pytest.raises(PhraseError, match="fixed UTC offset"):
        resolve_zone("UTC+01:00")
    with pytest.raises(PhraseError, match="not a time zone I know"):
        resolve_zone("Atlantis")


EVENTS = [
    ("when a new user is added", "user/created"),
    ("when a new user is added to the database", "user/created"),
    ("when a user signs up", "user/created"),
    ("when users sign up", "user/created"),
    ("when a user registers", "user/created"),
    ("when a user is registered", "user/created"),
    ("when an invoice is created", "invoice/created"),
    ("when there is a new order", "order/created"),
    ("on every new order", "order/created"),
    ("when a new lead comes in", "lead/created"),
    ("when an order is paid", "order/paid"),
    ("when a user pays", "user/paid"),
    ("whenever a payment fails", "payment/failed"),
    ("when a user is deleted", "user/deleted"),
    ("when a user is removed", "user/deleted"),
    ("when a product is changed", "product/updated"),
    ("when a user updates their profile", "profile/updated"),
    ("when a customer places an order", "order/placed"),
    ("when a user logs in", "user/logged.in"),
    ("when a customer checks out", "customer/checked.out"),
    ("when an order has been shipped", "order/shipped"),
    ("when an order ships", "order/shipped"),
    ("when a file is uploaded to S3", "file/uploaded"),
    ("every time a ticket is closed", "ticket/closed"),
    ("as soon as a subscription is canceled", "subscription/cancelled"),
    ("when a user's subscription renews", "subscription/renewed"),
    ("when the sales report is generated", "report/generated"),
    ("when companies are imported", "company/imported"),
    ("after a user replies", "user/replied"),
    ("on user/created", "user/created"),
    ('on "Shop/Order.Created"', "Shop/Order.Created"),
    ("a new user is added", "user/created"),  # the starter is optional
]


@pytest.mark.parametrize(("phrase", "name"), EVENTS)
def test_event_phrases(phrase: str, name: str) -> None:
    spec = parse_event(phrase)
    assert spec.name == name
    assert spec.trigger == TriggerEvent(event=name)


@pytest.mark.parametrize(
    ("phrase", "reason"),
    [
        ("when a user", 'no verb I know after "user"'),
        ("when it rains", "no verb I know"),
        ("when an order is blue", '"blue" is not a verb I can read'),
        ("when", "it is empty"),
        ("on inngest/function.failed", "reserved"),
    ],
)
def test_unreadable_events(phrase: str, reason: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_event(phrase)
    assert reason in str(info.value)
    assert '"when a new user is added"' in str(info.value)


@pytest.mark.parametrize(
    ("verb", "past"),
    [
        ("pay", "paid"),
        ("ship", "shipped"),
        ("create", "created"),
        ("reply", "replied"),
        ("log", "logged"),
    ],
)
def test_past_participles(verb: str, past: str) -> None:
    assert past_participle(verb) == past


@pytest.mark.parametrize(
    ("plural", "one"),
    [("users", "user"), ("companies", "company"), ("addresses", "address"), ("status", "status")],
)
def test_singular(plural: str, one: str) -> None:
    assert singular(plural) == one


DESCRIPTIONS = [
    (
        "Send a Slack summary of open tickets every weekday at 9 AM Berlin time",
        Schedule("0 9 * * 1-5", "Europe/Berlin"),
        "Send a Slack summary of open tickets",
    ),
    (
        "Create a workflow that syncs our Salesforce contacts every hour.",
        Schedule("0 * * * *", "UTC"),
        "syncs our Salesforce contacts",
    ),
    (
        "Set up a daily job that sends a Slack summary of open tickets at 9 AM.",
        Schedule("0 9 * * *", "UTC"),
        "sends a Slack summary of open tickets",
    ),
    (
        "Add a workflow that sends a welcome email when a new user is added to the database.",
        EventSpec("user/created"),
        "sends a welcome email",
    ),
    (
        "Every Monday at 9 AM, fetch new orders from Shopify and notify the team",
        Schedule("0 9 * * 1", "UTC"),
        "fetch new orders from Shopify and notify the team",
    ),
    (
        "When an order is paid, send a receipt and update the ledger",
        EventSpec("order/paid"),
        "send a receipt and update the ledger",
    ),
    (
        "Send a receipt when an order is paid and update the ledger",
        EventSpec("order/paid"),
        "Send a receipt and update the ledger",
    ),
    (
        "Create a job to charge customers on the 1st of every month at 6am New York time",
        Schedule("0 6 1 * *", "America/New_York"),
        "charge customers",
    ),
    (
        "Email every new customer every Monday at 9 AM",
        Schedule("0 9 * * 1", "UTC"),
        "Email every new customer",
    ),
    (
        "Post the weekly digest on Fridays at 4 pm London time",
        Schedule("0 16 * * 5", "Europe/London"),
        "Post the weekly digest",
    ),
    ("Create an hourly job that syncs contacts", Schedule("0 * * * *", "UTC"), "syncs contacts"),
]


@pytest.mark.parametrize(("text", "trigger", "action"), DESCRIPTIONS)
def test_descriptions_split_into_trigger_and_action(
    text: str, trigger: Schedule | EventSpec, action: str
) -> None:
    parsed = parse_description(text)
    if isinstance(trigger, Schedule):
        assert isinstance(parsed.trigger, Schedule)
        assert (parsed.trigger.cron, parsed.trigger.timezone) == (trigger.cron, trigger.timezone)
    else:
        assert isinstance(parsed.trigger, EventSpec)
        assert parsed.trigger.name == trigger.name
    assert parsed.action == action


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Sync contacts", "it has no schedule"),
        ("Send a report every blue moon", '"every blue moon" is not a schedule I know'),
        (
            "Send a report every blue moon at 9 AM",
            '"every blue moon" looks like part of a schedule',
        ),
        ("Run the backup at 25:00", '"25:00" is not a time of day'),
        ("Back up the database every Monday, Wednesday at 25:00", '"25:00" is not a time of day'),
        ("Send the daily report every weekday at 9", '"at 9" could be morning or evening'),
        ("Send a reminder every day at 9 AM when a user signs up", "both a schedule and an event"),
        ("Email the team every other day", '"every other day" cannot be a cron'),
    ],
)
def test_unreadable_descriptions(text: str, reason: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_description(text)
    assert reason in str(info.value)
    assert f'"{text}"' in str(info.value)
