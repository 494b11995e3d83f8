"""Default texts of the emails a portal sends (invitation, activation, password reset,
login code, change of the login email and its notice, closed account), in German and
English: (subject, text, HTML) as Jinja2 templates. New portals and the
demo start with them; staff edit their copies per portal. The variables they may use
are documented in `gql.domain.portal_mail.VARIABLES`."""

from __future__ import annotations

from db.models.enums import EmailTemplateKind


def _layout(body: str) -> str:
    return (
        '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5;'
        ' color: #1a1a1a">' + body + "</body></html>"
    )


_GREETING_DE = "{% if contact.first_name %}Hallo {{ contact.first_name }}{% else %}Hallo{% endif %}"
_GREETING_EN = "{% if contact.first_name %}Hello {{ contact.first_name }}{% else %}Hello{% endif %}"

DEFAULT_EMAILS: dict[EmailTemplateKind, dict[str, tuple[str, str, str]]] = {
    EmailTemplateKind.INVITATION: {
        "de": (
            "Ihre Einladung zum {{ portal.name }}",
            (
                _GREETING_DE + ",\n\n"
                "Sie sind herzlich eingeladen, das {{ portal.name }} zu nutzen. Dort sehen Sie"
                " Ihre Verträge, Zählerstände, Abschläge und Dokumente und erledigen vieles"
                " selbst, wann es Ihnen passt.\n\n"
                "Legen Sie über diesen Link Ihr Passwort fest (7 Tage gültig):\n"
                "{{ invitation_link }}\n\n"
                "Ihre Anmelde-E-Mail-Adresse ist {{ user.email }}.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>Sie sind herzlich eingeladen, das {{ portal.name }} zu nutzen. Dort sehen"
                " Sie Ihre Verträge, Zählerstände, Abschläge und Dokumente und erledigen"
                " vieles selbst, wann es Ihnen passt.</p>"
                '<p><a href="{{ invitation_link }}">Passwort festlegen</a>'
                " (7 Tage gültig)</p>"
                "<p>Ihre Anmelde-E-Mail-Adresse ist {{ user.email }}.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Your invitation to {{ portal.name }}",
            (
                _GREETING_EN + ",\n\n"
                "You are invited to use {{ portal.name }}: see your contracts, meter"
                " readings, installments and documents, and take care of things yourself"
                " whenever it suits you.\n\n"
                "Set your password with this link (valid for 7 days):\n"
                "{{ invitation_link }}\n\n"
                "You log in with {{ user.email }}.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>You are invited to use {{ portal.name }}: see your contracts, meter"
                " readings, installments and documents, and take care of things yourself"
                " whenever it suits you.</p>"
                '<p><a href="{{ invitation_link }}">Set your password</a>'
                " (valid for 7 days)</p>"
                "<p>You log in with {{ user.email }}.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.ACTIVATION: {
        "de": (
            "Bitte bestätigen Sie Ihre Registrierung im {{ portal.name }}",
            (
                _GREETING_DE + ",\n\n"
                "vielen Dank für Ihre Registrierung im {{ portal.name }}. Bitte bestätigen Sie"
                " Ihre E-Mail-Adresse über diesen Link (48 Stunden gültig):\n"
                "{{ confirmation_link }}\n\n"
                "Wenn Sie sich nicht registriert haben, ignorieren Sie diese E-Mail; es"
                " passiert dann nichts.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>vielen Dank für Ihre Registrierung im {{ portal.name }}. Bitte bestätigen"
                " Sie Ihre E-Mail-Adresse:</p>"
                '<p><a href="{{ confirmation_link }}">Registrierung bestätigen</a>'
                " (48 Stunden gültig)</p>"
                "<p>Wenn Sie sich nicht registriert haben, ignorieren Sie diese E-Mail; es"
                " passiert dann nichts.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Please confirm your registration with {{ portal.name }}",
            (
                _GREETING_EN + ",\n\n"
                "Thank you for registering with {{ portal.name }}. Please confirm your email"
                " address with this link (valid for 48 hours):\n"
                "{{ confirmation_link }}\n\n"
                "If you did not register, ignore this email; nothing will happen.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>Thank you for registering with {{ portal.name }}. Please confirm your"
                " email address:</p>"
                '<p><a href="{{ confirmation_link }}">Confirm registration</a>'
                " (valid for 48 hours)</p>"
                "<p>If you did not register, ignore this email; nothing will happen.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.PASSWORD_RESET: {
        "de": (
            "Neues Passwort für das {{ portal.name }}",
            (
                _GREETING_DE + ",\n\n"
                "Sie möchten ein neues Passwort für das {{ portal.name }} festlegen. Das geht"
                " über diesen Link (1 Stunde gültig, nur einmal):\n"
                "{{ password_reset_link }}\n\n"
                "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail; Ihr"
                " Passwort bleibt, wie es ist.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>Sie möchten ein neues Passwort für das {{ portal.name }} festlegen.</p>"
                '<p><a href="{{ password_reset_link }}">Neues Passwort festlegen</a>'
                " (1 Stunde gültig, nur einmal)</p>"
                "<p>Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail; Ihr"
                " Passwort bleibt, wie es ist.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "A new password for {{ portal.name }}",
            (
                _GREETING_EN + ",\n\n"
                "You asked to set a new password for {{ portal.name }}. Use this link (valid"
                " for 1 hour, once):\n"
                "{{ password_reset_link }}\n\n"
                "If you did not ask for it, ignore this email; your password stays as it"
                " is.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>You asked to set a new password for {{ portal.name }}.</p>"
                '<p><a href="{{ password_reset_link }}">Set a new password</a>'
                " (valid for 1 hour, once)</p>"
                "<p>If you did not ask for it, ignore this email; your password stays as it"
                " is.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.LOGIN_CODE: {
        "de": (
            "Ihr Anmeldecode für das {{ portal.name }}: {{ login_code }}",
            (
                _GREETING_DE + ",\n\n"
                "Ihr Code für die Anmeldung beim {{ portal.name }} lautet:\n\n"
                "{{ login_code }}\n\n"
                "Er gilt {{ minutes }} Minuten und nur einmal. Wenn Sie sich nicht anmelden"
                " wollten, ignorieren Sie diese E-Mail.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>Ihr Code für die Anmeldung beim {{ portal.name }} lautet:</p>"
                '<p style="font-size: 1.6em; letter-spacing: 0.2em"><b>{{ login_code }}</b></p>'
                "<p>Er gilt {{ minutes }} Minuten und nur einmal. Wenn Sie sich nicht anmelden"
                " wollten, ignorieren Sie diese E-Mail.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Your login code for {{ portal.name }}: {{ login_code }}",
            (
                _GREETING_EN + ",\n\n"
                "Your code for logging in to {{ portal.name }} is:\n\n"
                "{{ login_code }}\n\n"
                "It is valid for {{ minutes }} minutes, once. If you did not try to log in,"
                " ignore this email.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>Your code for logging in to {{ portal.name }} is:</p>"
                '<p style="font-size: 1.6em; letter-spacing: 0.2em"><b>{{ login_code }}</b></p>'
                "<p>It is valid for {{ minutes }} minutes, once. If you did not try to log in,"
                " ignore this email.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.EMAIL_CHANGE: {
        "de": (
            "Bitte bestätigen Sie Ihre neue E-Mail-Adresse für das {{ portal.name }}",
            (
                _GREETING_DE + ",\n\n"
                "Sie möchten sich beim {{ portal.name }} künftig mit dieser E-Mail-Adresse"
                " ({{ user.email }}) anmelden. Bitte bestätigen Sie das über diesen Link"
                " (24 Stunden gültig, nur einmal):\n"
                "{{ email_change_link }}\n\n"
                "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail; es ändert"
                " sich dann nichts.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>Sie möchten sich beim {{ portal.name }} künftig mit dieser E-Mail-Adresse"
                " ({{ user.email }}) anmelden.</p>"
                '<p><a href="{{ email_change_link }}">Neue E-Mail-Adresse bestätigen</a>'
                " (24 Stunden gültig, nur einmal)</p>"
                "<p>Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail; es ändert"
                " sich dann nichts.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Please confirm your new email address for {{ portal.name }}",
            (
                _GREETING_EN + ",\n\n"
                "You asked to log in to {{ portal.name }} with this email address"
                " ({{ user.email }}) from now on. Please confirm it with this link (valid for"
                " 24 hours, once):\n"
                "{{ email_change_link }}\n\n"
                "If you did not ask for it, ignore this email; nothing will change.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>You asked to log in to {{ portal.name }} with this email address"
                " ({{ user.email }}) from now on.</p>"
                '<p><a href="{{ email_change_link }}">Confirm the new email address</a>'
                " (valid for 24 hours, once)</p>"
                "<p>If you did not ask for it, ignore this email; nothing will change.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.EMAIL_CHANGED: {
        "de": (
            "Ihre Anmelde-E-Mail-Adresse für das {{ portal.name }} wurde geändert",
            (
                _GREETING_DE + ",\n\n"
                "Sie melden sich beim {{ portal.name }} ab jetzt mit {{ new_email }} an statt"
                " mit dieser Adresse ({{ user.email }}).\n\n"
                "Wenn Sie das nicht waren, wenden Sie sich bitte sofort an unseren"
                " Kundenservice.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>Sie melden sich beim {{ portal.name }} ab jetzt mit {{ new_email }} an statt"
                " mit dieser Adresse ({{ user.email }}).</p>"
                "<p>Wenn Sie das nicht waren, wenden Sie sich bitte sofort an unseren"
                " Kundenservice.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Your login email for {{ portal.name }} was changed",
            (
                _GREETING_EN + ",\n\n"
                "From now on you log in to {{ portal.name }} with {{ new_email }} instead of"
                " this address ({{ user.email }}).\n\n"
                "If this was not you, please contact our customer service at once.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>From now on you log in to {{ portal.name }} with {{ new_email }} instead of"
                " this address ({{ user.email }}).</p>"
                "<p>If this was not you, please contact our customer service at once.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.ACCOUNT_DELETED: {
        "de": (
            "Ihr Zugang zum {{ portal.name }} ist gelöscht",
            (
                _GREETING_DE + ",\n\n"
                "wie gewünscht haben wir Ihren Zugang zum {{ portal.name }} ({{ user.email }})"
                " gelöscht. Ihre Verträge und Kundendaten bleiben davon unberührt.\n\n"
                "Sie können sich jederzeit neu registrieren: {{ portal.url }}\n\n"
                "Wenn Sie das nicht waren, wenden Sie sich bitte an unseren Kundenservice.\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>wie gewünscht haben wir Ihren Zugang zum {{ portal.name }} ({{ user.email }})"
                " gelöscht. Ihre Verträge und Kundendaten bleiben davon unberührt.</p>"
                '<p>Sie können sich jederzeit <a href="{{ portal.url }}">neu registrieren</a>.</p>'
                "<p>Wenn Sie das nicht waren, wenden Sie sich bitte an unseren Kundenservice.</p>"
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Your access to {{ portal.name }} is deleted",
            (
                _GREETING_EN + ",\n\n"
                "As you asked, we deleted your access to {{ portal.name }} ({{ user.email }})."
                " Your contracts and customer data are not affected.\n\n"
                "You can register again at any time: {{ portal.url }}\n\n"
                "If this was not you, please contact our customer service.\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>As you asked, we deleted your access to {{ portal.name }} ({{ user.email }})."
                " Your contracts and customer data are not affected.</p>"
                '<p>You can <a href="{{ portal.url }}">register again</a> at any time.</p>'
                "<p>If this was not you, please contact our customer service.</p>"
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
}
