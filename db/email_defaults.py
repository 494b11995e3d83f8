"""Default texts of the emails a portal sends (invitation, activation, password reset,
pending registration for staff, access assigned, change request decided), in German and
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
    EmailTemplateKind.PENDING_USER: {
        "de": (
            "{{ portal.name }}: Registrierung wartet auf Zuordnung ({{ user.email }})",
            (
                "Hallo {{ staff.name }},\n\n"
                "{{ user.email }} hat sich im {{ portal.name }} registriert; die Angaben"
                " passen zu keinem Kontakt. Bitte ordnen Sie den Zugang einem Kontakt zu"
                " oder legen Sie einen an.\n\n"
                "{% for line in registration.details %}{{ line }}\n{% endfor %}\n"
                "Wartende Registrierungen: {{ pending_users_link }}\n"
            ),
            _layout(
                "<p>Hallo {{ staff.name }},</p>"
                "<p>{{ user.email }} hat sich im {{ portal.name }} registriert; die Angaben"
                " passen zu keinem Kontakt. Bitte ordnen Sie den Zugang einem Kontakt zu"
                " oder legen Sie einen an.</p>"
                "<ul>{% for line in registration.details %}<li>{{ line }}</li>{% endfor %}</ul>"
                '<p><a href="{{ pending_users_link }}">Wartende Registrierungen</a></p>'
            ),
        ),
        "en": (
            "{{ portal.name }}: registration waits to be assigned ({{ user.email }})",
            (
                "Hello {{ staff.name }},\n\n"
                "{{ user.email }} registered with {{ portal.name }}; the details match no"
                " contact. Please assign the access to a contact or create one.\n\n"
                "{% for line in registration.details %}{{ line }}\n{% endfor %}\n"
                "Pending registrations: {{ pending_users_link }}\n"
            ),
            _layout(
                "<p>Hello {{ staff.name }},</p>"
                "<p>{{ user.email }} registered with {{ portal.name }}; the details match no"
                " contact. Please assign the access to a contact or create one.</p>"
                "<ul>{% for line in registration.details %}<li>{{ line }}</li>{% endfor %}</ul>"
                '<p><a href="{{ pending_users_link }}">Pending registrations</a></p>'
            ),
        ),
    },
    EmailTemplateKind.ACCOUNT_ASSIGNED: {
        "de": (
            "Ihr Zugang zum {{ portal.name }} ist freigeschaltet",
            (
                _GREETING_DE + ",\n\n"
                "wir haben Ihren Zugang zum {{ portal.name }} Ihrem Kundenkonto"
                "{% if contact.customer_number %} {{ contact.customer_number }}{% endif %}"
                " zugeordnet. Sie können sich jetzt mit {{ user.email }} anmelden:\n"
                "{{ login_link }}\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>wir haben Ihren Zugang zum {{ portal.name }} Ihrem Kundenkonto"
                "{% if contact.customer_number %} {{ contact.customer_number }}{% endif %}"
                " zugeordnet. Sie können sich jetzt mit {{ user.email }} anmelden.</p>"
                '<p><a href="{{ login_link }}">Zur Anmeldung</a></p>'
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Your access to {{ portal.name }} is ready",
            (
                _GREETING_EN + ",\n\n"
                "we have assigned your access to {{ portal.name }} to your customer account"
                "{% if contact.customer_number %} {{ contact.customer_number }}{% endif %}."
                " You can now log in with {{ user.email }}:\n"
                "{{ login_link }}\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>we have assigned your access to {{ portal.name }} to your customer account"
                "{% if contact.customer_number %} {{ contact.customer_number }}{% endif %}."
                " You can now log in with {{ user.email }}.</p>"
                '<p><a href="{{ login_link }}">Log in</a></p>'
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
    EmailTemplateKind.CHANGE_REQUEST_DECIDED: {
        "de": (
            "{% if change.approved %}Ihre Änderung wurde übernommen{% else %}Ihre Änderung"
            " wurde abgelehnt{% endif %}: {{ change.summary }}",
            (
                _GREETING_DE + ",\n\n"
                "{% if change.approved %}wir haben Ihre Änderung ({{ change.summary }})"
                " geprüft und übernommen."
                "{% else %}wir haben Ihre Änderung ({{ change.summary }}) geprüft und"
                " konnten sie leider nicht übernehmen."
                "{% if change.reason %}\nBegründung: {{ change.reason }}{% endif %}"
                "{% endif %}\n\n"
                "Ihre Daten im {{ portal.name }}: {{ login_link }}\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "{% if change.approved %}<p>wir haben Ihre Änderung ({{ change.summary }})"
                " geprüft und übernommen.</p>"
                "{% else %}<p>wir haben Ihre Änderung ({{ change.summary }}) geprüft und"
                " konnten sie leider nicht übernehmen.</p>"
                "{% if change.reason %}<p>Begründung: {{ change.reason }}</p>{% endif %}"
                "{% endif %}"
                '<p><a href="{{ login_link }}">Ihre Daten im {{ portal.name }}</a></p>'
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "{% if change.approved %}Your change was applied{% else %}Your change was"
            " declined{% endif %}: {{ change.summary }}",
            (
                _GREETING_EN + ",\n\n"
                "{% if change.approved %}we have checked and applied your change"
                " ({{ change.summary }})."
                "{% else %}we have checked your change ({{ change.summary }}) and could not"
                " apply it."
                "{% if change.reason %}\nReason: {{ change.reason }}{% endif %}"
                "{% endif %}\n\n"
                "Your data in {{ portal.name }}: {{ login_link }}\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "{% if change.approved %}<p>we have checked and applied your change"
                " ({{ change.summary }}).</p>"
                "{% else %}<p>we have checked your change ({{ change.summary }}) and could not"
                " apply it.</p>"
                "{% if change.reason %}<p>Reason: {{ change.reason }}</p>{% endif %}"
                "{% endif %}"
                '<p><a href="{{ login_link }}">Your data in {{ portal.name }}</a></p>'
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
    EmailTemplateKind.ACCOUNT_EXISTS: {
        "de": (
            "Sie haben bereits einen Zugang zum {{ portal.name }}",
            (
                "Hallo,\n\n"
                "jemand (vermutlich Sie) wollte sich mit dieser E-Mail-Adresse im"
                " {{ portal.name }} registrieren. Sie haben dort bereits einen Zugang.\n\n"
                "Passwort vergessen? Fordern Sie auf der Anmeldeseite einen Link für ein neues"
                " Passwort an: {{ login_link }}\n\n"
                "Wenn Sie das nicht waren, ignorieren Sie diese E-Mail.\n"
            ),
            _layout(
                "<p>Hallo,</p>"
                "<p>jemand (vermutlich Sie) wollte sich mit dieser E-Mail-Adresse im"
                " {{ portal.name }} registrieren. Sie haben dort bereits einen Zugang.</p>"
                '<p>Passwort vergessen? Fordern Sie auf der <a href="{{ login_link }}">'
                "Anmeldeseite</a> einen Link für ein neues Passwort an.</p>"
                "<p>Wenn Sie das nicht waren, ignorieren Sie diese E-Mail.</p>"
            ),
        ),
        "en": (
            "You already have an account with {{ portal.name }}",
            (
                "Hello,\n\n"
                "someone (probably you) tried to register with {{ portal.name }} using this"
                " email address. You already have an account there.\n\n"
                "Forgot your password? Ask for a new one on the login page: {{ login_link }}\n\n"
                "If this was not you, ignore this email.\n"
            ),
            _layout(
                "<p>Hello,</p>"
                "<p>someone (probably you) tried to register with {{ portal.name }} using this"
                " email address. You already have an account there.</p>"
                '<p>Forgot your password? Ask for a new one on the <a href="{{ login_link }}">'
                "login page</a>.</p>"
                "<p>If this was not you, ignore this email.</p>"
            ),
        ),
    },
    EmailTemplateKind.REGISTRATION_DENIED: {
        "de": (
            "Ihre Registrierung im {{ portal.name }}",
            (
                "Hallo,\n\n"
                "wir konnten Ihre Angaben keinem Kundenkonto zuordnen, daher ist eine"
                " Registrierung im {{ portal.name }} so nicht möglich. Bitte prüfen Sie Ihre"
                " Angaben (z. B. Kundennummer) mit Ihrer letzten Rechnung oder wenden Sie sich"
                " an unseren Kundenservice.\n\n"
                "Zur Anmeldeseite: {{ login_link }}\n\n"
                "Wenn Sie sich nicht registrieren wollten, ignorieren Sie diese E-Mail.\n"
            ),
            _layout(
                "<p>Hallo,</p>"
                "<p>wir konnten Ihre Angaben keinem Kundenkonto zuordnen, daher ist eine"
                " Registrierung im {{ portal.name }} so nicht möglich. Bitte prüfen Sie Ihre"
                " Angaben (z. B. Kundennummer) mit Ihrer letzten Rechnung oder wenden Sie sich"
                " an unseren Kundenservice.</p>"
                '<p><a href="{{ login_link }}">Zur Anmeldeseite</a></p>'
                "<p>Wenn Sie sich nicht registrieren wollten, ignorieren Sie diese E-Mail.</p>"
            ),
        ),
        "en": (
            "Your registration with {{ portal.name }}",
            (
                "Hello,\n\n"
                "we could not match your details to a customer account, so registering with"
                " {{ portal.name }} is not possible this way. Please check your details (e.g."
                " the customer number) against your last bill or contact our customer"
                " service.\n\n"
                "To the login page: {{ login_link }}\n\n"
                "If you did not want to register, ignore this email.\n"
            ),
            _layout(
                "<p>Hello,</p>"
                "<p>we could not match your details to a customer account, so registering"
                " with {{ portal.name }} is not possible this way. Please check your details"
                " (e.g. the customer number) against your last bill or contact our customer"
                " service.</p>"
                '<p><a href="{{ login_link }}">To the login page</a></p>'
                "<p>If you did not want to register, ignore this email.</p>"
            ),
        ),
    },
    EmailTemplateKind.STAFF_NOTIFICATION: {
        "de": (
            "{{ portal.name }}: {{ change.summary }} ({{ customer.name }})",
            (
                "Hallo {{ staff.name }},\n\n"
                "im {{ portal.name }} hat {{ customer.name }}"
                " ({{ contact.customer_number or '-' }}) eine Änderung vorgenommen:"
                " {{ change.summary }}.\n\n"
                "{% for line in change.details %}{{ line }}\n{% endfor %}\n"
                "{% if change.link %}Zur Bearbeitung: {{ change.link }}\n{% endif %}"
            ),
            _layout(
                "<p>Hallo {{ staff.name }},</p>"
                "<p>im {{ portal.name }} hat {{ customer.name }}"
                " ({{ contact.customer_number or '-' }}) eine Änderung vorgenommen:"
                " <strong>{{ change.summary }}</strong>.</p>"
                "<ul>{% for line in change.details %}<li>{{ line }}</li>{% endfor %}</ul>"
                '{% if change.link %}<p><a href="{{ change.link }}">Zur Bearbeitung</a></p>'
                "{% endif %}"
            ),
        ),
        "en": (
            "{{ portal.name }}: {{ change.summary }} ({{ customer.name }})",
            (
                "Hello {{ staff.name }},\n\n"
                "{{ customer.name }} ({{ contact.customer_number or '-' }}) made a change in"
                " {{ portal.name }}: {{ change.summary }}.\n\n"
                "{% for line in change.details %}{{ line }}\n{% endfor %}\n"
                "{% if change.link %}To handle it: {{ change.link }}\n{% endif %}"
            ),
            _layout(
                "<p>Hello {{ staff.name }},</p>"
                "<p>{{ customer.name }} ({{ contact.customer_number or '-' }}) made a change in"
                " {{ portal.name }}: <strong>{{ change.summary }}</strong>.</p>"
                "<ul>{% for line in change.details %}<li>{{ line }}</li>{% endfor %}</ul>"
                '{% if change.link %}<p><a href="{{ change.link }}">To handle it</a></p>'
                "{% endif %}"
            ),
        ),
    },
    EmailTemplateKind.NEW_OFFER: {
        "de": (
            "Ihr Angebot {{ offer.number }}: {{ offer.title }}",
            (
                _GREETING_DE + ",\n\n"
                "wir haben ein Angebot für Sie erstellt: {{ offer.title }}"
                " ({{ offer.number }}).\n\n"
                "{% if offer.description %}{{ offer.description }}\n\n{% endif %}"
                "{% for line in offer.line_items %}- {{ line }}\n{% endfor %}\n"
                "Summe netto: {{ offer.total_net }} EUR\n"
                "Summe brutto: {{ offer.total_gross }} EUR\n\n"
                "Das Angebot gilt bis zum {{ offer.valid_until }}. Sie können es im"
                " {{ portal.name }} annehmen oder ablehnen: {{ offers_link }}\n\n"
                "Freundliche Grüße\nIhr Team vom {{ portal.name }}\n"
            ),
            _layout(
                "<p>" + _GREETING_DE + ",</p>"
                "<p>wir haben ein Angebot für Sie erstellt: <strong>{{ offer.title }}</strong>"
                " ({{ offer.number }}).</p>"
                "{% if offer.description %}<p>{{ offer.description }}</p>{% endif %}"
                "<ul>{% for line in offer.line_items %}<li>{{ line }}</li>{% endfor %}</ul>"
                "<p>Summe netto: {{ offer.total_net }} EUR<br>"
                "Summe brutto: {{ offer.total_gross }} EUR</p>"
                "<p>Das Angebot gilt bis zum {{ offer.valid_until }}. Sie können es im"
                ' {{ portal.name }} <a href="{{ offers_link }}">annehmen oder ablehnen</a>.</p>'
                "<p>Freundliche Grüße<br>Ihr Team vom {{ portal.name }}</p>"
            ),
        ),
        "en": (
            "Your offer {{ offer.number }}: {{ offer.title }}",
            (
                _GREETING_EN + ",\n\n"
                "we have made you an offer: {{ offer.title }} ({{ offer.number }}).\n\n"
                "{% if offer.description %}{{ offer.description }}\n\n{% endif %}"
                "{% for line in offer.line_items %}- {{ line }}\n{% endfor %}\n"
                "Total net: {{ offer.total_net }} EUR\n"
                "Total gross: {{ offer.total_gross }} EUR\n\n"
                "The offer is valid until {{ offer.valid_until }}. Accept or decline it in"
                " {{ portal.name }}: {{ offers_link }}\n\n"
                "Kind regards\nThe {{ portal.name }} team\n"
            ),
            _layout(
                "<p>" + _GREETING_EN + ",</p>"
                "<p>we have made you an offer: <strong>{{ offer.title }}</strong>"
                " ({{ offer.number }}).</p>"
                "{% if offer.description %}<p>{{ offer.description }}</p>{% endif %}"
                "<ul>{% for line in offer.line_items %}<li>{{ line }}</li>{% endfor %}</ul>"
                "<p>Total net: {{ offer.total_net }} EUR<br>"
                "Total gross: {{ offer.total_gross }} EUR</p>"
                "<p>The offer is valid until {{ offer.valid_until }}."
                ' <a href="{{ offers_link }}">Accept or decline it</a> in {{ portal.name }}.</p>'
                "<p>Kind regards<br>The {{ portal.name }} team</p>"
            ),
        ),
    },
}
