"""Default texts of the emails a portal sends (invitation, activation, password reset,
process step done, new document),
in German and English: (subject, text, HTML) as Jinja2 templates. New portals and the
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
    EmailTemplateKind.PROCESS_STEP_DONE: {
        "de": (
            "{{ process.title }}: {{ step.title }} erledigt",
            (
                _GREETING_DE + ",\n\n"
                'bei Ihrem Vorgang "{{ process.title }}" ist der Schritt'
                ' "{{ step.title }}" erledigt.\n'
                "{% if next_step.title %}Als Nächstes: {{ next_step.title }}.\n{% endif %}\n"
                "Den Stand sehen Sie jederzeit im {{ portal.name }}:\n"
                "{{ process_link }}\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>bei Ihrem Vorgang \u201e{{ process.title }}\u201c ist der Schritt"
                " \u201e{{ step.title }}\u201c erledigt.</p>"
                "{% if next_step.title %}<p>Als Nächstes: {{ next_step.title }}.</p>{% endif %}"
                '<p><a href="{{ process_link }}">Stand ansehen</a></p>'
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "{{ process.title }}: {{ step.title }} done",
            (
                _GREETING_EN + ",\n\n"
                'the step "{{ step.title }}" of "{{ process.title }}" is done.\n'
                "{% if next_step.title %}Next: {{ next_step.title }}.\n{% endif %}\n"
                "You can follow its progress in {{ portal.name }} at any time:\n"
                "{{ process_link }}\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>the step \u201c{{ step.title }}\u201d of \u201c{{ process.title }}\u201d"
                " is done.</p>"
                "{% if next_step.title %}<p>Next: {{ next_step.title }}.</p>{% endif %}"
                '<p><a href="{{ process_link }}">See its progress</a></p>'
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.NEW_DOCUMENT: {
        "de": (
            "Neues Dokument im {{ portal.name }}",
            (
                _GREETING_DE + ",\n\n"
                "im {{ portal.name }} liegt ein neues Dokument für Sie bereit:"
                " {{ document.name }}\n\n"
                "Sie finden es unter Ihren Dokumenten:\n{{ documents_link }}\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>im {{ portal.name }} liegt ein neues Dokument für Sie bereit:"
                " <strong>{{ document.name }}</strong></p>"
                '<p><a href="{{ documents_link }}">Zu Ihren Dokumenten</a></p>'
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "A new document in {{ portal.name }}",
            (
                _GREETING_EN + ",\n\n"
                "there is a new document for you in {{ portal.name }}:"
                " {{ document.name }}\n\n"
                "You find it among your documents:\n{{ documents_link }}\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>there is a new document for you in {{ portal.name }}:"
                " <strong>{{ document.name }}</strong></p>"
                '<p><a href="{{ documents_link }}">Go to your documents</a></p>'
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
}
