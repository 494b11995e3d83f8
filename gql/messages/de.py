"""German error messages, one per error code (gql/schema/results.py ErrorCode).

`{name}` is filled with the refusal's parameter of that name. The broad codes get a
general sentence here, used when a refusal has no message key; SPECIFIC below has the
services' specific sentences."""

MESSAGES: dict[str, str] = {
    # Every domain
    "INVALID_INPUT": "Diese Eingabe ist nicht zulässig; bitte prüfen Sie das Feld.",
    "NOT_FOUND": "Das Gesuchte wurde nicht gefunden.",
    "CONFLICT": "Das passt nicht zum aktuellen Stand: Der Name oder die E-Mail-Adresse ist"
    " vergeben, oder jemand hat die Daten inzwischen geändert.",
    "RULE_VIOLATED": "Diese Änderung ist im aktuellen Zustand nicht möglich.",
    "RATE_LIMITED": "Zu viele Versuche in kurzer Zeit; bitte versuchen Sie es später erneut.",
    "NOT_AUTHENTICATED": "Bitte melden Sie sich an.",
    "REGISTRATION_ELSEWHERE": "Die Registrierung für dieses Portal läuft über {registrationLink}.",
    # Registration, invitations, password reset
    "INVALID_TOKEN": "Dieser Link ist ungültig oder abgelaufen; bitte fordern Sie eine neue"
    " E-Mail an.",
    # Email templates
    "TEMPLATE_TOO_COSTLY": "Die Vorlage ist zu aufwendig darzustellen; bitte vereinfachen Sie sie.",
    # Contract self-service rules
    "DISABLED": "Diese Änderung ist in diesem Portal nicht möglich.",
    "OUT_OF_RANGE": "Bitte wählen Sie einen Betrag zwischen {allowedMin} und {allowedMax} EUR.",
    "CADENCE_EXCEEDED": "Höchstens {allowedChanges} Änderung(en) je {period} {periodUnit} sind"
    " möglich; die nächste ab dem {nextPossibleAt}.",
    "OVERDUE_PAYMENTS": "{overdueAmount} EUR sind überfällig; die Zahlungsart kann geändert"
    " werden, sobald sie bezahlt sind.",
    "TOO_CLOSE_TO_DUE_DATE": "Die nächste Zahlung ist am {nextDueDate} fällig; Änderungen sind"
    " bis {daysBefore} Tage vorher möglich, danach wieder nach diesem Datum.",
    "INTERVAL_NOT_ALLOWED": "Bitte wählen Sie eines dieser Zahlungsintervalle: {allowedIntervals}.",
    # Offers
    "OFFER_EXPIRED": "Dieses Angebot galt bis zum {validUntil}; bitte fragen Sie ein neues an.",
    # Meter readings
    "METER_NOT_FOUND": "Dieser Zähler wurde nicht gefunden.",
    "METER_DECOMMISSIONED": "Der Zähler ist nicht mehr in Betrieb.",
    "REGISTER_UNKNOWN": "Der Zähler hat die Zählwerke {registers}.",
    "REGISTER_REQUIRED": "Bitte wählen Sie ein Zählwerk: {registers}.",
    "INVALID_VALUE": "Bitte geben Sie die Zahl ein, die der Zähler anzeigt.",
    "TOO_MANY_DECIMALS": "Bitte geben Sie höchstens drei Nachkommastellen ein.",
    "TOO_MANY_DIGITS": "Der Zähler zeigt höchstens {digits} Stellen.",
    "READ_AT_IN_FUTURE": "Ein Zählerstand kann nicht in der Zukunft liegen.",
    "OUTSIDE_CONTRACT_PERIOD": "Das Datum liegt außerhalb der Vertragslaufzeit.",
    "DUPLICATE_READING": "Für dieses Zählwerk gibt es zu diesem Zeitpunkt schon einen Zählerstand.",
    "LESS_THAN_PREVIOUS": "Der Wert liegt unter dem vorigen Zählerstand ({previousValue} am"
    " {previousReadAt}).",
    "GREATER_THAN_LATER": "Der Wert liegt über einem späteren Zählerstand ({laterValue} am"
    " {laterReadAt}).",
    "IMPLAUSIBLE": "Der Wert ist für diesen Zähler ungewöhnlich (erwartet {allowedMin} bis"
    " {allowedMax} {unit}); bitte prüfen Sie ihn oder bestätigen Sie ihn zur Prüfung.",
    "OUT_OF_ORDER": "Der Wert muss zwischen den benachbarten Zählerständen liegen"
    " ({lowerValue} und {upperValue}).",
    # Documents
    "EMPTY_FILE": "Die Datei ist leer.",
    "FILE_TOO_LARGE": "Die Datei ist zu groß (höchstens {maxBytes} Bytes).",
    "TYPE_NOT_ALLOWED": "Es können nur PDF-, PNG-, JPEG-, TIFF- und HEIC-Dateien hochgeladen"
    " werden.",
    "EXECUTABLE": "Programme und Skripte werden nie angenommen.",
    # Login and sessions
    "INVALID_CREDENTIALS": "E-Mail-Adresse oder Passwort sind nicht korrekt.",
    "INVALID_EMAIL": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "INVALID_PASSWORD": "Bitte geben Sie Ihr Passwort ein.",
    "INVALID_PORTAL_ID": "Unbekanntes Portal.",
    "INVALID_CODE": "Der Code ist nicht korrekt oder die Anmeldung ist abgelaufen.",
    "INVALID_SESSION": "Die Sitzung ist beendet; bitte melden Sie sich erneut an.",
    # Two-factor authentication
    "TOTP_NOT_ENROLLED": "Bitte beginnen Sie zuerst die Einrichtung.",
    "TOTP_ALREADY_ENABLED": "Die Zwei-Faktor-Authentifizierung ist bereits eingerichtet.",
    "TOTP_NOT_ENABLED": "Die Zwei-Faktor-Authentifizierung ist nicht eingerichtet.",
    "TOTP_ENABLED": "Bitte verwenden Sie Ihre Authenticator-App oder einen Wiederherstellungscode.",
    "TOTP_ONLY": "Mitarbeitende bestätigen Anmeldungen mit einer Authenticator-App.",
    # Impersonation
    "REASON_REQUIRED": "Bitte geben Sie einen Grund an (höchstens 500 Zeichen).",
    "PORTAL_USER_INACTIVE": "Der Portalnutzer kann sich nicht anmelden und daher nicht"
    " vertreten werden.",
    # Single sign-on
    "SSO_PROVIDER_UNKNOWN": "Dieses Portal bietet diese Anmeldung nicht an.",
    "SSO_REDIRECT_URI_NOT_ALLOWED": "Die Rücksprungadresse gehört nicht zur Domain des Portals.",
    "SSO_STATE_INVALID": "Diese Anmeldung ist unbekannt, schon verwendet oder abgelaufen; bitte"
    " erneut anmelden.",
    "SSO_NONCE_MISMATCH": "Die Antwort des Identitätsanbieters gehört nicht zu dieser Anmeldung;"
    " bitte erneut anmelden.",
    "SSO_TOKEN_INVALID": "Die Anmeldung beim Identitätsanbieter konnte nicht bestätigt werden;"
    " bitte erneut anmelden.",
    "SSO_PROVIDER_ERROR": "Der Identitätsanbieter ist nicht erreichbar oder hat die Anmeldung"
    " abgelehnt; bitte später erneut versuchen.",
    "SSO_EMAIL_NOT_VERIFIED": "Der Identitätsanbieter hat die E-Mail-Adresse nicht bestätigt.",
    "SSO_NO_ACCOUNT": "Zu dieser Anmeldung gibt es keinen Portalzugang.",
    "SSO_ACCOUNT_INACTIVE": "Der Portalzugang ist nicht aktiv (deaktiviert oder noch keinem"
    " Kunden zugeordnet).",
}


# The services' specific sentences, keyed by message key (gql/domain/errors.py
# DomainError.key); `{name}` is filled with the refusal's parameter of that name.
SPECIFIC: dict[str, str] = {
    # Values refused while the request is parsed (gql/schema/input_errors.py).
    "scalar_not_a_string": "{kind} muss eine Zeichenkette sein.",
    "json_too_deep": "JSON darf höchstens {limit} Ebenen tief verschachtelt sein.",
    "json_not_finite": "Zahlen in JSON müssen endlich sein.",
    "json_too_long": "Ein JSON-Wert darf höchstens {limit} Zeichen lang sein.",
    "decimal_as_string": 'Eine Dezimalzahl wird als Zeichenkette gesendet, z. B. "81.50".',
    "decimal_too_many_digits": "Eine Dezimalzahl hat höchstens {limit} Stellen.",
    "decimal_invalid": "Keine Dezimalzahl: {value}.",
    "decimal_not_finite": "Eine Dezimalzahl muss endlich sein.",
    "cursor_invalid": "Ungültiger Cursor.",
    # Input in general
    "required": "Bitte füllen Sie dieses Feld aus.",
    "text_too_long": "Höchstens {limit} Zeichen.",
    "control_character": "Der Text enthält das Steuerzeichen {character}; bitte entfernen Sie es.",
    "not_found": "{what} wurde nicht gefunden.",
    "document_value_invalid": "Dieser Wert ist nicht zulässig ({problem}).",
    "not_an_id": "Das ist keine ID eines Objekts vom Typ {type}.",
    # Vertragspreise
    "price_out_of_range": "Bitte geben Sie einen Wert von {allowedMin} bis {allowedMax} ein.",
    "price_too_many_decimals": "Höchstens {decimals} Nachkommastellen.",
    "price_after_contract_end": "Der Vertrag endet am {endDate}; ein Preis kann spätestens an"
    " diesem Tag beginnen.",
    "price_register_unknown": "Die Zähler des Vertrags haben die Zählwerke {registers}.",
    # Registration and access
    "portal_not_found": "Dieses Portal gibt es nicht.",
    "identifier_unknown": "Unbekannte Angaben: {unknown}.",
    "portal_without_default_group": "Das Portal hat keine Standard-Berechtigungsgruppe; bitte"
    " wenden Sie sich an Ihren Versorger.",
    "language_not_spoken": "Das Portal ist in diesen Sprachen verfügbar: {languages}.",
    "terms_not_accepted": "Bitte akzeptieren Sie die Nutzungsbedingungen.",
    "marketing_consent_without_text": "Dieses Portal bietet keine Marketing-Einwilligung in"
    " dieser Sprache an.",
    "password_too_short": "Bitte verwenden Sie mindestens {minLength} Zeichen.",
    "password_too_long": "Bitte verwenden Sie höchstens {maxLength} Zeichen.",
    "password_is_email": "Das Passwort darf nicht Ihre E-Mail-Adresse sein.",
    "password_too_common": "Dieses Passwort ist zu verbreitet; bitte wählen Sie ein anderes.",
    "password_unchanged": "Bitte wählen Sie ein anderes als Ihr jetziges Passwort.",
    "account_not_found": "Dieses Konto gibt es nicht.",
    "portal_user_not_found": "Diesen Portalnutzer gibt es nicht.",
    "session_not_found": "Diese Sitzung gibt es nicht (mehr).",
    # Login codes by email
    "email_code_just_sent": "Vor weniger als einer Minute wurde ein Code gesendet; bitte sehen"
    " Sie in Ihr Postfach.",
    "email_codes_too_many": "Zu viele Codes in der letzten Stunde; bitte versuchen Sie es später"
    " erneut.",
    # Passwordless login, change of the login email, closing the account
    "passwordless_login_off": "Dieses Portal bietet die Anmeldung mit einem Code nicht an.",
    "login_code_format": "Der Code hat sechs Ziffern.",
    "password_wrong": "Das Passwort ist falsch.",
    "email_unchanged": "Das ist bereits Ihre Anmelde-E-Mail-Adresse.",
    "email_changes_too_many": "Zu viele Änderungen der Anmelde-E-Mail-Adresse in der letzten"
    " Stunde; bitte versuchen Sie es später erneut.",
    "email_change_taken": "Diese E-Mail-Adresse gehört bereits zu einem anderen Zugang dieses"
    " Portals; die Anmelde-E-Mail-Adresse wurde nicht geändert.",
    # Contract self-service
    "portal_not_published": "Das Portal ist nicht veröffentlicht.",
    "amount_not_a_number": "Bitte geben Sie einen Betrag wie 85,50 ein.",
    "amount_too_many_decimals": "Beträge haben höchstens zwei Nachkommastellen (Cent).",
    "amount_out_of_bounds": "Bitte geben Sie einen Betrag zwischen 0,01 und {maxAmount} ein.",
    "installment_unchanged": "Der Abschlag beträgt bereits {currentAmount} EUR.",
    "installment_interval_unchanged": "Der Abschlag wird bereits {currentInterval} gezahlt.",
    "installment_interval_amount_out_of_bounds": "In diesem Intervall läge der Abschlag"
    " außerhalb von 0,01 bis {maxAmount} EUR.",
    "readings_incomplete": "Bitte geben Sie für jedes Zählwerk des Zählers einen Stand ein:"
    " {registers}.",
    "register_repeated": "Jedes Zählwerk kann je Meldung nur einen Stand haben.",
    "photo_not_an_image": "Das Foto muss ein PNG-, JPEG-, TIFF- oder HEIC-Bild sein.",
    "photo_needs_contract": "Ein Foto kann nur zu einem Zähler eines Vertrags abgelegt werden.",
    "iban_required": "Für das SEPA-Lastschriftverfahren wird eine IBAN benötigt.",
    "iban_invalid": "Das ist keine gültige IBAN.",
    "iban_not_sepa": "Die IBAN stammt nicht aus einem SEPA-Land.",
    "account_holder_required": "Bitte geben Sie den Kontoinhaber ein.",
    "mandate_not_accepted": "Bitte erteilen Sie das SEPA-Lastschriftmandat.",
    "due_day_out_of_range": "Bitte wählen Sie einen Tag zwischen 1 und 28.",
    "due_day_unchanged": "Zahlungen sind bereits am {currentDay}. fällig.",
    # Contact changes
    "phone_invalid": "Bitte geben Sie eine Telefonnummer aus Ziffern ein, z. B. +49 30 1234567.",
    "country_invalid": "Bitte geben Sie einen zweistelligen Ländercode ein, z. B. DE.",
    "postal_code_invalid": "Das ist keine Postleitzahl in {country}.",
    "cannot_remove_yourself": "Den eigenen Zugang können Sie nicht entfernen; bitte wenden"
    " Sie sich an Ihren Versorger.",
    "customer_number_taken": "Die Kundennummer {number} hat bereits ein anderer Kontakt.",
    "contact_unchanged": "Die Angaben unterscheiden sich nicht von den aktuellen Kontaktdaten.",
    "change_already_waiting": "Eine Änderung {change} wartet bereits auf Freigabe.",
    "change_already_decided": "Über die Anfrage wurde bereits entschieden ({status}).",
    "changed_since_request": "Die Daten wurden seit der Anfrage geändert ({changedFields}); bitte"
    " lehnen Sie sie ab und fragen Sie den Kunden erneut.",
    # Documents
    "document_not_own_upload": "Nur selbst hochgeladene Dokumente können gelöscht werden;"
    " Dokumente Ihres Versorgers bleiben im Portal.",
    "document_not_found": "Dieses Dokument gibt es nicht.",
    "document_contact_required": "Bitte nennen Sie den Kontakt, für den das Dokument ist.",
    "document_type_not_for_customers": "Kunden können Dokumente dieser Arten hochladen: {allowed}.",
    "contract_not_of_contact": "Dieser Vertrag gehört nicht zu diesem Kontakt.",
    "order_not_of_contact": "Dieser Auftrag gehört nicht zu diesem Kontakt.",
    # Meter readings
    "client_key_invalid": "Ein Client-Schlüssel mit 1 bis 64 Zeichen ist erforderlich.",
    "reading_not_waiting_for_review": "Der Zählerstand ist {status} und wartet nicht auf Prüfung.",
    "reset_in_future": "Der Zählerwechsel kann nicht in der Zukunft liegen.",
    # Processes
    "process_key": (
        '"{value}" ist kein gültiger Schlüssel: Kleinbuchstaben, Ziffern und _, mit einem '
        "Buchstaben am Anfang, höchstens 60 Zeichen."
    ),
    "process_one_parent": (
        "Ein Prozess gehört zu genau einem Auftrag, einer Anfrage oder einem Kontakt."
    ),
    "process_steps_count": "Ein Prozess hat 1 bis {limit} Schritte.",
    "process_step_repeated": "Jeder Schritt eines Prozesses braucht einen eigenen Schlüssel.",
    "process_cancelled": "Dieser Prozess wurde abgebrochen und lässt sich nicht mehr ändern.",
    # Offers
    "offer_already_answered": "Dieses Angebot wurde bereits beantwortet.",
    "order_not_an_offer": "Dieser Auftrag ist kein Angebot.",
    "reason_only_when_declining": "Ein Grund wird nur bei einer Ablehnung angegeben.",
    "offer_valid_until_range": "Ein Angebot gilt ab heute ({earliest}) höchstens {maxDays} Tage,"
    " also bis spätestens {latest}.",
    "offer_line_items_count": "Ein Angebot hat 1 bis {limit} Positionen.",
    "line_item_quantity": "Eine Menge größer als 0 und höchstens {max}, mit höchstens drei"
    " Nachkommastellen.",
    "line_item_unit_price": "Ein Nettopreis je Einheit von 0 bis {max} EUR, mit höchstens zwei"
    " Nachkommastellen.",
    "line_item_vat_rate": "Ein Umsatzsteuersatz von 0 bis 100 Prozent, mit höchstens zwei"
    " Nachkommastellen.",
    # Staff: portals, domains, groups, tiles, access, templates, imports
    "domain_taken": "{domain} wird bereits von einem anderen Portal verwendet.",
    "domain_or_subdomain": "Bitte geben Sie entweder eine Subdomain oder eine eigene Domain an.",
    "deactivate_before_domain_change": "Bitte deaktivieren Sie das Portal, bevor Sie seine Domain"
    " ändern.",
    "dns_records_wrong": "Die DNS-Einträge stimmen noch nicht: {problems}.",
    "domain_not_full": "Bitte geben Sie die vollständige Domain ein, z. B."
    " kundenportal.stadtwerke.de.",
    "domain_managed": "Domains unter {baseDomain} werden verwaltet: Bitte geben Sie stattdessen"
    " die Subdomain an.",
    "dns_no_answer": "Das DNS hat für {name} nicht geantwortet; bitte versuchen Sie es später"
    " erneut.",
    "domain_nothing_to_verify": "Es gibt nichts zu prüfen: Die Domain ist {status}.",
    "domain_verify_first": "Bitte prüfen Sie zuerst die Domain: Sie ist {status}.",
    "template_not_renderable": "Die Vorlage ({part}) kann nicht dargestellt werden: {problem}",
    "grants_not_applicable": "Für Portale der Art {portalType} nicht anwendbar: {grants}.",
    "no_contract_status": "Ohne Status wären alle Verträge verborgen; lassen Sie die Status weg,"
    " um alle zu zeigen.",
    "no_document_type": "Ohne Art wären alle Dokumente verborgen; lassen Sie die Arten weg, um"
    " alle zu zeigen.",
    "visibility_for_customer_portals": "Installateure sehen, was ihnen zugewiesen ist;"
    " Sichtbarkeitskriterien gelten nur in Kundenportalen.",
    "group_name_taken": "Das Portal hat bereits eine Gruppe namens „{name}“.",
    "default_group_required": "Ein Portal hat immer eine Standardgruppe; machen Sie stattdessen"
    " eine andere Gruppe zur Standardgruppe.",
    "default_group_not_deletable": "Die Standardgruppe kann nicht gelöscht werden; machen Sie"
    " zuerst eine andere Gruppe zur Standardgruppe.",
    "group_shown_tiles": "{tiles} Kachel(n) des Portals werden dieser Gruppe angezeigt; ändern"
    " Sie zuerst deren Sichtbarkeit.",
    "group_of_other_portal": "Die Gruppe gehört zu einem anderen Portal als der Portalnutzer.",
    "contact_without_email": "Der Kontakt hat keine E-Mail-Adresse.",
    "email_used_by_other_access": "Der Zugang eines anderen Kontakts verwendet diese"
    " E-Mail-Adresse.",
    "last_name_or_company_required": "Ein Nachname oder ein Firmenname ist erforderlich.",
    "portal_user_assigned_already": "Der Portalnutzer ist bereits zugeordnet; heben Sie die"
    " Zuordnung zuerst auf.",
    "no_contact_with_email": "Kein Kontakt hat die primäre E-Mail-Adresse {email}; wählen oder"
    " erstellen Sie einen.",
    "contacts_share_email": "{count} Kontakte haben die primäre E-Mail-Adresse {email}"
    " ({customerNumbers}); bitte wählen Sie einen.",
    "portal_user_not_assigned": "Der Portalnutzer ist nicht zugeordnet.",
    "contact_has_access": "Der Kontakt hat bereits Zugang zu diesem Portal.",
    "password_or_invitation_first": "Bitte setzen Sie zuerst ein Passwort oder senden Sie eine"
    " Einladung.",
    "subject_length": "Bitte geben Sie einen Betreff mit 1 bis 200 Zeichen ein.",
    "subdomain_invalid": "Bitte verwenden Sie 3 bis 63 Buchstaben, Ziffern oder innere"
    " Bindestriche, z. B. stadtwerke-musterstadt.",
    "subdomain_taken": "{domain} ist vergeben; bitte wählen Sie eine andere Subdomain.",
    "deactivate_before_delete": "Bitte deaktivieren Sie das Portal, bevor Sie es löschen.",
    "changes_not_an_object": "Die Änderungen müssen ein Objekt sein.",
    "attributes_unknown": "Unbekannte Attribute: {unknown} (bekannt: {known}).",
    "notify_staff_inactive": "Alle zu benachrichtigenden Nutzer müssen aktive Mitarbeitende der"
    " Organisation sein.",
    "languages_invalid": "Sprachen: de, en oder beide, ohne Wiederholung; die Standardsprache"
    " darunter.",
    "domain_not_ready": "Die Domain {domain} ist nicht bereit ({status}).",
    "publish_before_activating": "Bitte veröffentlichen Sie das Portal, bevor Sie es aktivieren.",
    "not_a_staff_user_id": "Keine ID eines Mitarbeitenden: {value}.",
    "portal_version_unknown": "Das Portal hat keine Version {version}.",
    "staff_language_invalid": "Die Sprache muss de oder en sein.",
    "last_active_admin": "Die Organisation muss mindestens einen aktiven ADMIN behalten.",
    "staff_email_taken": "Diese E-Mail-Adresse gehört bereits zu einem Mitarbeiterkonto.",
    "cannot_disable_self": "Sie können sich nicht selbst deaktivieren.",
    "tile_language_not_spoken": "Das Portal ist nicht in diesen Sprachen verfügbar: {languages}.",
    "groups_of_other_portal": "Jede Gruppe muss eine Berechtigungsgruppe dieses Portals sein.",
    "tiles_repeated": "Doppelt genannte Kacheln: {tiles}.",
    "tiles_foreign": "{count} ID(s) sind keine Kacheln dieses Portals.",
    "tiles_missing": "In der Reihenfolge fehlende Kacheln: {tiles}.",
    "csv_control_character": "Zeile {line} enthält das Steuerzeichen {character}.",
    "csv_header_required": "Die erste Zeile muss die Spalten nennen, mindestens email.",
    "csv_columns_unknown": "Unbekannte Spalten: {columns}.",
    "limit_out_of_range": "Zwischen 1 und 5000 je Aufruf.",
    "csv_not_utf8": "Die Datei muss CSV in UTF-8-Kodierung sein.",
    "csv_rows_refused": "{problems} Problem(e); nichts wurde importiert. Das erste: Zeile {line},"
    " Spalte {column}.",
    "csv_email_invalid": "Keine E-Mail-Adresse: {value}",
    "csv_email_repeated": "schon in Zeile {firstLine}",
    "csv_language_not_spoken": "Das Portal ist in diesen Sprachen verfügbar: {languages}",
    "csv_customer_unknown": "Kein Kontakt hat die Kundennummer {number}",
    "csv_group_unknown": "Keine Gruppe {group} in diesem Portal",
    # Single sign-on: identity providers
    "identity_provider_slug_invalid": "Das Kürzel besteht aus 1 bis 40 Kleinbuchstaben, Ziffern"
    " und Bindestrichen.",
    "identity_provider_slug_taken": "Das Portal hat schon einen Identitätsanbieter mit diesem"
    " Kürzel.",
    "identity_provider_issuer_invalid": "Der Aussteller muss eine https-Adresse ohne Query und"
    " Fragment sein.",
    "identity_provider_issuer_taken": "Das Portal hat schon einen Identitätsanbieter mit diesem"
    " Aussteller.",
    "identity_provider_scope_invalid": "Scopes sind bis zu 20 Wörter ohne Leerzeichen,"
    " Anführungszeichen und Backslash.",
    "identity_provider_name_invalid": "Der Name hat 1 bis 80 Zeichen.",
    "identity_provider_client_id_invalid": "Die Client-ID hat 1 bis 255 Zeichen.",
    "identity_provider_client_secret_invalid": "Das Client-Secret hat 1 bis 1000 Zeichen.",
}
