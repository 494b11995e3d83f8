"""German error messages, one per error code (gql/schema/results.py ErrorCode).

`{name}` is filled with the refusal's parameter of that name. The broad codes get a
general sentence here: the service's specific one exists in English only (`detail`)."""

MESSAGES: dict[str, str] = {
    # Every domain
    "INVALID_INPUT": "Diese Eingabe ist nicht zulässig; bitte prüfen Sie das Feld.",
    "NOT_FOUND": "Das Gesuchte wurde nicht gefunden.",
    "CONFLICT": "Das passt nicht zum aktuellen Stand: Der Name oder die E-Mail-Adresse ist"
    " vergeben, oder jemand hat die Daten inzwischen geändert.",
    "RULE_VIOLATED": "Diese Änderung ist im aktuellen Zustand nicht möglich.",
    "RATE_LIMITED": "Zu viele Versuche in kurzer Zeit; bitte versuchen Sie es später erneut.",
    "NOT_AUTHENTICATED": "Bitte melden Sie sich an.",
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
    " {allowedMax}); bitte prüfen Sie ihn oder bestätigen Sie ihn zur Prüfung.",
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
}
