"""The commented starter replywatch.toml that `replywatch init` writes."""

STARTER_CONFIG = """\
# replywatch configuration. Every key is documented in README.md.
# Secrets are never written here: name an environment variable (*_env) or a file (*_file).

[database]
url = "sqlite:///replywatch.db"          # or postgresql+psycopg://user@host/db

[[stores]]
name = "Main Street Honda"
timezone = "America/Chicago"
region = "US"                             # default region for phone numbers
digest_recipients = ["gm@mainstreethonda.example"]

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

# One table per source; `name` is unique, `type` picks the kind.
[[sources]]
name = "old-inbox"
type = "maildir"                          # also "mbox" and "eml-dir": path to a file or folder
path = "mail"

[[sources]]
name = "crm-texts"
type = "sms-csv"                          # id,sent_at,from,to,body,direction (or a Twilio console export)
path = "sms.csv"

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
"""
