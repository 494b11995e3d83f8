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
    "REGISTRATION_ELSEWHERE": "Registration for this portal is at {registrationLink}.",
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
    "INTERVAL_NOT_ALLOWED": "Please choose one of these intervals: {allowedIntervals}.",
    # Offers
    "OFFER_EXPIRED": "This offer was valid until {validUntil}; please ask for a new one.",
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
    " {allowedMax} {unit}); please check it, or confirm it to send it for review.",
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
    # Single sign-on
    "SSO_PROVIDER_UNKNOWN": "This portal does not offer this login.",
    "SSO_REDIRECT_URI_NOT_ALLOWED": "The redirect address does not belong to the portal's domain.",
    "SSO_STATE_INVALID": "This login is unknown, used already or expired; please start again.",
    "SSO_NONCE_MISMATCH": "The identity provider's answer does not belong to this login; please"
    " start again.",
    "SSO_TOKEN_INVALID": "The login at the identity provider could not be confirmed; please start"
    " again.",
    "SSO_PROVIDER_ERROR": "The identity provider can not be reached or refused the login; please"
    " try again later.",
    "SSO_EMAIL_NOT_VERIFIED": "The identity provider has not verified the email address.",
    "SSO_NO_ACCOUNT": "There is no portal access for this login.",
    "SSO_ACCOUNT_INACTIVE": "The portal access is not active (deactivated, or not yet assigned to"
    " a customer).",
}


# The services' specific sentences, keyed by message key (gql/domain/errors.py
# DomainError.key); `{name}` is filled with the refusal's parameter of that name.
SPECIFIC: dict[str, str] = {
    # Values refused while the request is parsed (gql/schema/input_errors.py).
    "scalar_not_a_string": "{kind} must be a string.",
    "json_too_deep": "JSON may nest at most {limit} levels.",
    "json_not_finite": "JSON numbers must be finite.",
    "json_too_long": "A JSON value may have at most {limit} characters.",
    "decimal_as_string": 'A decimal number is sent as a string such as "81.50".',
    "decimal_too_many_digits": "A decimal number has at most {limit} digits.",
    "decimal_invalid": "Not a decimal number: {value}.",
    "decimal_not_finite": "A decimal number must be finite.",
    "cursor_invalid": "Invalid cursor.",
    # Input in general
    "required": "Please fill this in.",
    "text_too_long": "At most {limit} characters.",
    "control_character": "The text contains the control character {character}; please remove it.",
    "not_found": "No such {what}.",
    "document_value_invalid": "{problem}",
    "not_an_id": "Not a {type} ID.",
    # Contract prices
    "price_out_of_range": "Please enter a value from {allowedMin} to {allowedMax}.",
    "price_too_many_decimals": "At most {decimals} decimals.",
    "price_after_contract_end": "The contract ends on {endDate}; a price can start on that day"
    " at the latest.",
    "price_register_unknown": "The contract's meters have the registers {registers}.",
    # Registration and access
    "portal_not_found": "No such portal.",
    "identifier_unknown": "Unknown identifier: {unknown}.",
    "portal_without_default_group": "The portal has no default permission group.",
    "language_not_spoken": "The portal speaks {languages}.",
    "terms_not_accepted": "Please accept the terms of use.",
    "marketing_consent_without_text": "This portal offers no marketing consent in this language.",
    "password_too_short": "Use at least {minLength} characters.",
    "password_too_long": "Use at most {maxLength} characters.",
    "password_is_email": "The password must not be your email address.",
    "password_too_common": "This password is too common; choose another.",
    "password_unchanged": "Choose a password you did not use now.",
    "account_not_found": "No such account.",
    "portal_user_not_found": "No such portal user.",
    "session_not_found": "No such session (any more).",
    # Login codes by email
    "email_code_just_sent": "A code was sent less than a minute ago; check your inbox.",
    "email_codes_too_many": "Too many codes in the last hour; try again later.",
    # Passwordless login, change of the login email, closing the account
    "passwordless_login_off": "This portal does not offer logging in with a code.",
    "login_code_format": "The code has six digits.",
    "password_wrong": "The password is wrong.",
    "email_unchanged": "This is your login email already.",
    "email_changes_too_many": "Too many changes of the login email in the last hour; try"
    " again later.",
    "email_change_taken": "This email address already belongs to another access of this"
    " portal; the login email was not changed.",
    # Contract self-service
    "portal_not_published": "The portal is not published.",
    "amount_not_a_number": "Enter an amount such as 85.50.",
    "amount_too_many_decimals": "Amounts have at most two decimals (cents).",
    "amount_out_of_bounds": "Enter an amount between 0.01 and {maxAmount}.",
    "installment_unchanged": "The installment is {currentAmount} EUR already.",
    "installment_interval_unchanged": "The installment is paid {currentInterval} already.",
    "installment_interval_amount_out_of_bounds": "In this interval the installment would be"
    " outside 0.01 to {maxAmount} EUR.",
    "readings_incomplete": "Please enter a reading for every register of the meter: {registers}.",
    "register_repeated": "Each register can have only one reading per submission.",
    "photo_not_an_image": "The photo must be a PNG, JPEG, TIFF or HEIC image.",
    "photo_needs_contract": "A photo can only be kept for a meter of a contract.",
    "iban_required": "SEPA direct debit needs an IBAN.",
    "iban_invalid": "This is not a valid IBAN.",
    "iban_not_sepa": "The IBAN is not from a SEPA country.",
    "account_holder_required": "Enter the account holder.",
    "mandate_not_accepted": "Please accept the SEPA direct debit mandate.",
    "due_day_out_of_range": "Choose a day between 1 and 28.",
    "due_day_unchanged": "Payments are due on day {currentDay} already.",
    # Contact changes
    "phone_invalid": "A phone number of digits, e.g. +49 30 1234567.",
    "country_invalid": "A two-letter country code, e.g. DE.",
    "postal_code_invalid": "Not a postal code in {country}.",
    "cannot_remove_yourself": "You can not remove your own access; please ask your utility.",
    "customer_number_taken": "Another contact already has customer number {number}.",
    "contact_unchanged": "Nothing differs from the current contact data.",
    "change_already_waiting": "A change of {change} is already waiting for approval.",
    "change_already_decided": "The request was already decided ({status}).",
    "changed_since_request": "The data changed since the request ({changedFields}); reject it and"
    " ask the customer again.",
    # Documents
    "document_not_own_upload": "Only documents you uploaded yourself can be deleted; documents"
    " from your utility stay in the portal.",
    "document_not_found": "No such document.",
    "document_contact_required": "Name the contact the document is for.",
    "document_type_not_for_customers": "Customers can upload {allowed} documents.",
    "contract_not_of_contact": "No such contract of this contact.",
    "order_not_of_contact": "No such order of this contact.",
    # Meter readings
    "client_key_invalid": "A client key of 1 to 64 characters is required.",
    "reading_not_waiting_for_review": "The reading is {status}, not waiting for review.",
    "reset_in_future": "The reset can not be in the future.",
    # Processes
    "process_key": (
        '"{value}" is not a valid key: lower-case letters, digits and _, starting with a '
        "letter, at most 60 characters."
    ),
    "process_one_parent": "A process belongs to exactly one order, request or contact.",
    "process_steps_count": "A process has 1 to {limit} steps.",
    "process_step_repeated": "Each step of a process needs a key of its own.",
    "process_cancelled": "This process was cancelled and can no longer be changed.",
    # Offers
    "offer_already_answered": "This offer was already answered.",
    "order_not_an_offer": "This order is not an offer.",
    "reason_only_when_declining": "A reason is given only when declining.",
    "offer_valid_until_range": "An offer is valid from today ({earliest}) for at most"
    " {maxDays} days, until {latest} at the latest.",
    "offer_line_items_count": "An offer has 1 to {limit} line items.",
    "line_item_quantity": "A quantity above 0 and at most {max}, with at most three decimals.",
    "line_item_unit_price": "A net price per unit from 0 to {max} EUR, with at most two decimals.",
    "line_item_vat_rate": "A VAT rate from 0 to 100 percent, with at most two decimals.",
    # Staff: portals, domains, groups, tiles, access, templates, imports
    "domain_taken": "{domain} is used by another portal.",
    "domain_or_subdomain": "Give either a subdomain or a domain of your own.",
    "deactivate_before_domain_change": "Deactivate the portal before changing its domain.",
    "dns_records_wrong": "{problems}.",
    "domain_not_full": "Enter the full domain, e.g. kundenportal.stadtwerke.de.",
    "domain_managed": "Domains under {baseDomain} are managed: give the subdomain instead.",
    "dns_no_answer": "DNS did not answer for {name}; try again later.",
    "domain_nothing_to_verify": "Nothing to verify: the domain is {status}.",
    "domain_verify_first": "Verify the domain first: it is {status}.",
    "template_not_renderable": "The {part} can not be rendered: {problem}",
    "grants_not_applicable": "Not applicable to {portalType} portals: {grants}.",
    "no_contract_status": "No status would hide every contract; leave the statuses out to show"
    " all.",
    "no_document_type": "No type would hide every document; leave the types out to show all.",
    "visibility_for_customer_portals": "Installers see what is assigned to them; visibility"
    " criteria apply to customer portals only.",
    "group_name_taken": "The portal already has a group named '{name}'.",
    "default_group_required": "A portal always has a default group; make another group the"
    " default instead.",
    "default_group_not_deletable": "The default group can not be deleted; make another group the"
    " default first.",
    "group_shown_tiles": "{tiles} tile(s) of the portal are shown to this group; change their"
    " visibility first.",
    "group_of_other_portal": "The group belongs to another portal than the portal user.",
    "contact_without_email": "The contact has no email address.",
    "email_used_by_other_access": "Another contact's access uses this email.",
    "last_name_or_company_required": "A last name or a company name is required.",
    "portal_user_assigned_already": "The portal user is assigned already; unassign it first.",
    "no_contact_with_email": "No contact has the primary email {email}; choose one or create it.",
    "contacts_share_email": "{count} contacts have the primary email {email} ({customerNumbers});"
    " choose one.",
    "portal_user_not_assigned": "The portal user is not assigned.",
    "contact_has_access": "The contact already has access to this portal.",
    "password_or_invitation_first": "Set a password or send an invitation first.",
    "subject_length": "A subject of 1 to 200 characters.",
    "subdomain_invalid": "Use 3 to 63 letters, digits or inner hyphens, e.g."
    " stadtwerke-musterstadt.",
    "subdomain_taken": "{domain} is taken; choose another subdomain.",
    "deactivate_before_delete": "Deactivate the portal before deleting it.",
    "changes_not_an_object": "The changes must be an object.",
    "attributes_unknown": "Unknown attributes: {unknown} (known: {known}).",
    "notify_staff_inactive": "Every user to notify must be an active staff user of the"
    " organization.",
    "languages_invalid": "Languages: one or both of de and en, without repeats; the default among"
    " them.",
    "domain_not_ready": "The domain {domain} is not ready ({status}).",
    "publish_before_activating": "Publish the portal before activating it.",
    "not_a_staff_user_id": "Not a staff user ID: {value}.",
    "portal_version_unknown": "The portal has no version {version}.",
    "staff_language_invalid": "The language must be de or en.",
    "last_active_admin": "The organization must keep at least one active ADMIN.",
    "staff_email_taken": "This email already belongs to a staff account.",
    "cannot_disable_self": "You can not disable yourself.",
    "tile_language_not_spoken": "The portal does not speak {languages}.",
    "groups_of_other_portal": "Every group must be a permission group of this portal.",
    "tiles_repeated": "Tiles listed twice: {tiles}.",
    "tiles_foreign": "{count} ID(s) are not tiles of this portal.",
    "tiles_missing": "Tiles missing from the order: {tiles}.",
    "csv_control_character": "Line {line} contains the control character {character}.",
    "csv_header_required": "The first line must name the columns, with at least email.",
    "csv_columns_unknown": "Unknown columns: {columns}.",
    "limit_out_of_range": "Between 1 and 5000 per call.",
    "csv_not_utf8": "The file must be UTF-8 encoded CSV.",
    "csv_rows_refused": "{problems} problem(s); nothing was imported. The first: line {line},"
    " column {column}.",
    "csv_email_invalid": "not an email address: {value}",
    "csv_email_repeated": "already on line {firstLine}",
    "csv_language_not_spoken": "the portal speaks {languages}",
    "csv_customer_unknown": "no contact has the number {number}",
    "csv_group_unknown": "no group {group} in this portal",
    # Single sign-on: identity providers
    "identity_provider_slug_invalid": "The slug has 1 to 40 lower-case letters, digits and"
    " hyphens.",
    "identity_provider_slug_taken": "The portal has an identity provider with this slug already.",
    "identity_provider_issuer_invalid": "The issuer must be an https URL without query and"
    " fragment.",
    "identity_provider_issuer_taken": "The portal has an identity provider with this issuer"
    " already.",
    "identity_provider_scope_invalid": "Scopes are up to 20 words without spaces, quotes and"
    " backslashes.",
    "identity_provider_name_invalid": "The name has 1 to 80 characters.",
    "identity_provider_client_id_invalid": "The client ID has 1 to 255 characters.",
    "identity_provider_client_secret_invalid": "The client secret has 1 to 1000 characters.",
}
