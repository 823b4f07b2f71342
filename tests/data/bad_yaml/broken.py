"""A module that fails while importing, as a user's module with a bug does."""

SETTINGS: dict[str, str] = {}
DATABASE_URL = SETTINGS["database_url"]
