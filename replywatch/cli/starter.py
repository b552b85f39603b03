"""The commented starter replywatch.toml that `replywatch init` writes.

Its sources are commented out: each block is a real setup (a password IMAP inbox, Microsoft 365 and
Google Workspace with XOAUTH2, Twilio, an SMS export) that works once its names and secrets are filled
in and its `# ` prefixes removed; a test uncomments each one and loads it."""

STARTER_CONFIG = """\
# replywatch configuration. Every key is documented in README.md ("Configuration").
# Secrets are never written here: name an environment variable (*_env) or a file (*_file).
# Check it with: replywatch status --config THIS_FILE

[database]
url = "sqlite:///replywatch.db"          # beside this file; or postgresql+psycopg://user@host/db

[[stores]]
name = "Main Street Honda"
timezone = "America/Chicago"
region = "US"                             # how phone numbers and dates (11/30/2026) are written here
digest_recipients = ["gm@mainstreethonda.example"]

# Without [stores.hours] the store is open 09:00-20:00 every day; with it, a day not listed is closed.
[stores.hours]                            # store-local opening hours: "HH:MM-HH:MM" or "closed"
mon = "09:00-20:00"
tue = "09:00-20:00"
wed = "09:00-20:00"
thu = "09:00-20:00"
fri = "09:00-20:00"
sat = "09:00-18:00"
sun = "closed"

[[associates]]
name = "Dana Lee"
store = "Main Street Honda"
emails = ["dana@mainstreethonda.example"]
phones = ["+15125550100"]                 # a shared texting number may be listed under several associates

# Sources: uncomment the blocks you use (remove the "# " before each line) and fill them in.
# `name` is unique; `type` picks the kind. `replywatch poll --once` reads them all once.

# The lead inbox, with a password (any IMAP server):
# [[sources]]
# name = "lead-inbox"
# type = "imap"
# host = "imap.example.com"
# tls = true                              # port 993; or starttls = true for port 143
# username = "leads@mainstreethonda.example"
# password_env = "REPLYWATCH_IMAP_PASSWORD"   # or password_file = "/etc/replywatch/imap-password"

# The lead inbox on Microsoft 365 (XOAUTH2; your admin registers an app and creates a refresh token
# with the scopes below):
# [[sources]]
# name = "lead-inbox-m365"
# type = "imap"
# host = "outlook.office365.com"
# username = "leads@mainstreethonda.example"
# auth = "xoauth2"
# oauth2_token_url = "https://login.microsoftonline.com/YOUR-TENANT-ID/oauth2/v2.0/token"
# oauth2_client_id = "YOUR-APPLICATION-ID"
# oauth2_client_secret_env = "REPLYWATCH_IMAP_CLIENT_SECRET"   # omit for a public client
# oauth2_refresh_token_file = "/etc/replywatch/imap-refresh-token"
# oauth2_scope = "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access"
# folders = ["INBOX", "Sent Items"]

# The lead inbox on Google Workspace (XOAUTH2 with an OAuth client of your Google Cloud project):
# [[sources]]
# name = "lead-inbox-google"
# type = "imap"
# host = "imap.gmail.com"
# username = "leads@mainstreethonda.example"
# auth = "xoauth2"
# oauth2_token_url = "https://oauth2.googleapis.com/token"
# oauth2_client_id = "YOUR-CLIENT-ID.apps.googleusercontent.com"
# oauth2_client_secret_env = "REPLYWATCH_IMAP_CLIENT_SECRET"
# oauth2_refresh_token_file = "/etc/replywatch/imap-refresh-token"
# oauth2_scope = "https://mail.google.com/"
# folders = ["INBOX", "[Gmail]/Sent Mail"]

# Texts through Twilio (the account's message log):
# [[sources]]
# name = "texts"
# type = "twilio"
# account_sid = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
# auth_token_env = "TWILIO_AUTH_TOKEN"    # or auth_token_file
# numbers = ["+15125550100"]              # our numbers; default every message of the account

# Texts from a CRM's SMS export (id,sent_at,from,to,body,direction, or a Twilio console export):
# [[sources]]
# name = "crm-texts"
# type = "sms-csv"
# path = "/srv/exports/sms.csv"

[digest]
send_at = "MON 07:00"                     # store-local
baseline_weeks = 4

[digest.smtp]
host = "smtp.example.com"
port = 587
starttls = true                           # or ssl = true (port 465)
username = "replywatch@mainstreethonda.example"
password_env = "REPLYWATCH_SMTP_PASSWORD"
sender = "replywatch@mainstreethonda.example"

# Alerts while a lead is still warm, and a contact feed for your CRM (`replywatch notify status`).
# Minutes of a lead's wait count only in the store's open hours.
[alerts]
untouched_after_minutes = 15              # lead.untouched: no touch yet
escalate_after_minutes = 60               # lead.untouched.escalated, to the targets that subscribe to it
source_down_minutes = 15                  # source.failing / source.recovered
review_stale_hours = 24                   # review.backlog

# A BDC channel in Slack (Teams: type = "teams"); the webhook URL is a secret, so it is named, not written:
# [[notify]]
# name = "bdc-slack"
# type = "slack"
# url_env = "REPLYWATCH_SLACK_URL"
# events = ["lead.untouched", "lead.missed_call", "source.failing", "source.recovered"]
#
# The manager, by email (through [digest.smtp]) when a lead has waited an hour:
# [[notify]]
# name = "manager"
# type = "email"
# to = ["bdc-manager@mainstreethonda.example"]
# events = ["lead.untouched.escalated", "review.backlog"]
#
# Your CRM, or a workflow tool that sets its Contact Y/N field (signed with HMAC-SHA256):
# [[notify]]
# name = "crm"
# type = "webhook"
# url = "https://hooks.example/replywatch"
# secret_env = "REPLYWATCH_CRM_SECRET"
# events = ["lead.contacted", "lead.opted_out"]
# stores = ["Main Street Honda"]          # optional: every store when absent
"""
