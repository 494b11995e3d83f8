import { useId, type ReactNode } from "react";

/** A refusal of the API (the `Error` interface): its localized message, at the field it names. */
export interface Refusal {
  message: string;
  field?: string | null;
}

/** The refusal for `field`, or the one naming no field the form has (`fields`). */
export function refusalAt(refusal: Refusal | null, field: string | null, fields: string[] = []) {
  if (!refusal) return null;
  const at = refusal.field && fields.includes(refusal.field) ? refusal.field : null;
  return at === field ? refusal.message : null;
}

interface FieldProps {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
  hint?: string | null;
  type?: string;
  autoComplete?: string;
  inputMode?: "numeric" | "decimal" | "text" | "email";
  required?: boolean;
}

/** A labelled input whose hint and refusal are read out with it (aria-describedby). */
export function Field(props: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const described = [props.hint ? hintId : null, props.error ? errorId : null]
    .filter(Boolean)
    .join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        autoComplete={props.autoComplete}
        inputMode={props.inputMode}
        required={props.required}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={described || undefined}
        onChange={(event) => props.onChange(event.target.value)}
      />
      {props.hint ? (
        <p className="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p className="error" id={errorId} role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message: string | null }) {
  return message ? (
    <p className="error" role="alert">
      {message}
    </p>
  ) : null;
}

/** The refusal of an answer: the result union's error, or a value the API refused while
 * reading the request (its `extensions.field` and `reason`), else `fallback`. */
export function refusalOf(
  error: { graphQLErrors: { extensions?: Record<string, unknown> }[] } | undefined,
  fallback: string,
): Refusal {
  const extensions = error?.graphQLErrors[0]?.extensions ?? {};
  const reason = extensions.reason;
  const field = extensions.field;
  return typeof reason === "string"
    ? { message: reason, field: typeof field === "string" ? field : null }
    : { message: fallback };
}

/** A checkbox with its label, hint and refusal read out with it. */
export function Check(props: {
  label: ReactNode;
  name: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  error?: string | null;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className="field check">
      <div className="choice">
        <input
          id={id}
          type="checkbox"
          name={props.name}
          checked={props.checked}
          aria-invalid={props.error ? true : undefined}
          aria-describedby={props.error ? errorId : undefined}
          onChange={(event) => props.onChange(event.target.checked)}
        />
        <label htmlFor={id}>{props.label}</label>
      </div>
      {props.error ? (
        <p className="error" id={errorId} role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}
