"""`python -m replywatch`."""

from replywatch.cli.app import main

main()
