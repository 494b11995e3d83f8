"""English error messages, one per error code (gql/schema/results.py ErrorCode).

`{name}` is filled with the refusal's parameter of that name; `{detail}` with the
service's own sentence, which is English and more specific than a code can be (used for
the broad codes, whose cause the code alone does not say)."""

MESSAGES: dict[str, str] = {
    # Every domain
    "INVALID_INPUT": "{detail}",
    "NOT_FOUND": "{detail}",
    "CONFLICT": "{detail}",
    "RULE_VIOLATED": "{detail}",
    "RATE_LIMITED": "Too many attempts in a short time; please try again later.",
    "NOT_AUTHENTICATED": "Please log in.",
    # Registration, invitations, password reset
    "INVALID_TOKEN": "This link is invalid or has expired; please ask for a new email.",
    # Email templates
    "TEMPLATE_TOO_COSTLY": "The template does too much work when rendered; please simplify it.",
    # Contract self-service rules
    "DISABLED": "This change is not available in this portal.",
    "OUT_OF_RANGE": "Please choose an amount between {allowedMin} and {allowedMax} EUR.",
    "CADENCE_EXCEEDED": "At most {allowedChanges} change(s) per {period} {periodUnit} are"
    " possible; the next one from {nextPossibleAt}.",
    "OVERDUE_PAYMENTS": "{overdueAmount} EUR are overdue; the payment method can be changed"
    " once they are paid.",
    "TOO_CLOSE_TO_DUE_DATE": "The next payment is due on {nextDueDate}; changes are possible"
    " until {daysBefore} days before, so again after that date.",
    # Meter readings
    "METER_NOT_FOUND": "This meter was not found.",
    "METER_DECOMMISSIONED": "The meter is no longer in use.",
    "REGISTER_UNKNOWN": "The meter has the registers {registers}.",
    "REGISTER_REQUIRED": "Please choose a register: {registers}.",
    "INVALID_VALUE": "Please enter the number shown on the meter.",
    "TOO_MANY_DECIMALS": "Please enter at most three decimals.",
    "TOO_MANY_DIGITS": "The meter shows at most {digits} digits.",
    "READ_AT_IN_FUTURE": "A reading can not be in the future.",
    "OUTSIDE_CONTRACT_PERIOD": "The date lies outside the contract period.",
    "DUPLICATE_READING": "There is already a reading for this register at that time.",
    "LESS_THAN_PREVIOUS": "The value is below the previous reading ({previousValue} on"
    " {previousReadAt}).",
    "GREATER_THAN_LATER": "The value is above a later reading ({laterValue} on {laterReadAt}).",
    "IMPLAUSIBLE": "The value is unusual for this meter (expected {allowedMin} to"
    " {allowedMax}); please check it, or confirm it to send it for review.",
    "OUT_OF_ORDER": "The value must lie between the neighbouring readings ({lowerValue} and"
    " {upperValue}).",
    # Documents
    "EMPTY_FILE": "The file is empty.",
    "FILE_TOO_LARGE": "The file is too large (at most {maxBytes} bytes).",
    "TYPE_NOT_ALLOWED": "Only PDF, PNG, JPEG, TIFF and HEIC files can be uploaded.",
    "EXECUTABLE": "Programs and scripts are never accepted.",
    # Login and sessions
    "INVALID_CREDENTIALS": "Email or password is wrong.",
    "INVALID_EMAIL": "Please enter one valid email address.",
    "INVALID_PASSWORD": "Please enter your password.",
    "INVALID_PORTAL_ID": "Unknown portal.",
    "INVALID_CODE": "The code is not correct or the login has expired.",
    "INVALID_SESSION": "The session has ended; please log in again.",
    # Two-factor authentication
    "TOTP_NOT_ENROLLED": "Please start the set-up first.",
    "TOTP_ALREADY_ENABLED": "Two-factor authentication is set up already.",
    "TOTP_NOT_ENABLED": "Two-factor authentication is not set up.",
    "TOTP_ENABLED": "Please use your authenticator app or a recovery code.",
    "TOTP_ONLY": "Staff confirm logins with an authenticator app.",
    # Impersonation
    "REASON_REQUIRED": "Please give a reason (at most 500 characters).",
    "PORTAL_USER_INACTIVE": "The portal user can not log in, so can not be impersonated.",
}
