"""What the demo dealership's people write: lead comments, our follow-ups, customers' replies and texts."""

from __future__ import annotations


def lines(text: str) -> tuple[str, ...]:
    """One entry per non-blank line of a text block; keeps phrase tables compact and readable."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


COMMENTS = ("", "", *lines("""
    Is this vehicle still available?
    I'd like to schedule a test drive this weekend.
    What is your best out-the-door price? I have a trade & can put $3,000 down.
    Do you take trade-ins? 2015 Civic, 98k miles.
    Please text me, I can't take calls at work.
    Interested in financing options & lease specials.
    Can you send more pictures of the interior?
"""))  # fmt: skip
COMMENTS_ES = (
    "¿Sigue disponible? Me interesa para mi esposa.",
    "¿Tienen financiamiento? Prefiero hablar en español.",
)
FOLLOW_UP_SUBJECTS = lines("""
    Your {vehicle} inquiry at {store}
    {vehicle} at {store}
    Following up on the {model}
    Thanks for your interest, {first}!
""")
FOLLOW_UP_PITCHES = lines("""
    It's on the lot and I'd be glad to set up a test drive. Does tomorrow afternoon work?
    I have a couple of options in that trim. When is a good time for a quick call?
    I put together pricing for you. Are you planning to finance, lease or pay cash?
    It's still available. Would you like to come see it this week?
""")
REPLIES = lines("""
    Yes, still interested. Can I come by Saturday morning?
    Tomorrow at 5 works for me.
    What would the out-the-door price be with tax and fees?
    Can you send me a few more photos?
    I'd like to trade in my 2016 Accord, what could you give me for it?
    I already bought something else, but thanks for following up.
""")
REPLIES_ES = (
    "Sí, todavía me interesa. ¿Puedo pasar el sábado?",
    "Gracias. ¿Cuál sería el precio final con impuestos?",
)
TEXTS = lines("""
    Yes! Can you text me the price?
    Sat morning works
    Who is this?
    Not interested anymore thanks
    Still available? I can come after work
    Can you do 399/month?
    👍 sounds good
""")
TEXTS_ES = ("Sí, me interesa. ¿A qué hora abren el sábado?", "Gracias, ¿me puede mandar fotos?")
AUTO_REPLIES = (
    (
        "Automatic reply: ",
        "I am out of the office with limited access to email and will reply when I return.",
    ),
    ("Out of Office: ", "I'm away until next Monday. For anything urgent please call my cell."),
    ("Respuesta automática: ", "Estoy fuera de la oficina. Responderé a su mensaje a mi regreso."),
)
