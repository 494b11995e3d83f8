// Numbers and dates in the page's language (the API sends decimals as strings, times as ISO).
export function money(value: string | null | undefined, language: string): string {
  if (value == null) return "–";
  return new Intl.NumberFormat(language, { style: "currency", currency: "EUR" }).format(
    Number(value),
  );
}
export function decimal(value: string | null | undefined, language: string): string {
  if (value == null) return "–";
  return new Intl.NumberFormat(language, { maximumFractionDigits: 3 }).format(Number(value));
}
export function day(value: string | null | undefined, language: string): string {
  if (!value) return "–";
  return new Intl.DateTimeFormat(language, { dateStyle: "medium" }).format(new Date(value));
}
/** What a person types (1.234,5 in German) as the API's decimal (1234.5). */
export function toDecimal(typed: string, language: string): string {
  const trimmed = typed.trim().replace(/\s/g, "");
  return language === "de"
    ? trimmed.replace(/\./g, "").replace(",", ".")
    : trimmed.replace(/,/g, "");
}
