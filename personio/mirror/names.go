package mirror

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/personio-scim/personio-scim/personio"
)

// Messages of the helper functions; they never repeat a value.
const (
	errFormatDate     = "format_date: the date is not YYYY-MM-DD"
	errWantStringList = "want a list of strings"
	errFirstWantsList = "first: want a list of strings"
)

// formatDate renders a YYYY-MM-DD date with a layout in which YYYY, MM and
// DD stand for the year, month and day; everything else is copied. An unset
// date ("") yields "". The error never repeats the value, which is personal
// data.
func formatDate(date, layout string) (string, error) {
	if date == "" {
		return "", nil
	}
	d, err := personio.ParseDate(date)
	if err != nil {
		return "", errors.New(errFormatDate)
	}
	r := strings.NewReplacer(
		"YYYY", fmt.Sprintf("%04d", d.Year),
		"MM", fmt.Sprintf("%02d", int(d.Month)),
		"DD", fmt.Sprintf("%02d", d.Day),
	)
	return r.Replace(layout), nil
}

// translit spells a name in plain ASCII Latin letters the way German-speaking
// HR expects: ä→ae, ö→oe, ü→ue, ß→ss; other Latin letters lose their accents
// (é→e, ø→o, ł→l, ç→c) and ligatures are spelled out (æ→ae, œ→oe). Combining
// accents (decomposed input) are dropped, a combining diaeresis after a, o or
// u becomes e as for the composed letter. Cyrillic is spelled as in machine
// readable passports (Юрий → Iurii). Letters of other scripts (Arabic,
// Chinese, ...) are left as they are: a spelling without their vowels or
// tones would be a wrong name, so logins for them need a Latin spelling
// from Personio or a fallback.
func translit(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	var last rune
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
			last = r
		case r == 0x0308 && strings.ContainsRune("aouAOU", last):
			b.WriteByte('e')
			last = 'e'
		case 0x0300 <= r && r <= 0x036f: // combining accents
		default:
			plain, ok := latinPlain(r)
			if !ok {
				plain, ok = cyrillicPlain(r)
			}
			if ok {
				b.WriteString(plain)
				if plain != "" { // the soft sign has no spelling
					last = rune(plain[len(plain)-1])
				}
				continue
			}
			b.WriteRune(r)
			last = r
		}
	}
	return b.String()
}

// login turns a name into a login fragment: transliterated, lower case,
// spaces as dots, only a-z, 0-9, '.', '-' and '_' kept (letters of other
// scripts are dropped), no repeated or leading/trailing separators.
// "Jürgen Groß" → "juergen.gross".
func login(s string) string {
	s = strings.ToLower(translit(s))
	var b strings.Builder
	b.Grow(len(s))
	var last byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '_':
		case c == ' ', c == '\t':
			c = '.'
		default:
			continue
		}
		if isLoginSeparator(c) && (b.Len() == 0 || isLoginSeparator(last)) {
			continue
		}
		b.WriteByte(c)
		last = c
	}
	return strings.TrimRight(b.String(), ".-_")
}

func isLoginSeparator(c byte) bool { return c == '.' || c == '-' || c == '_' }

// latinPlain returns the ASCII spelling of a Latin letter with an accent,
// stroke or ligature.
func latinPlain(r rune) (string, bool) {
	switch r {
	case 'ä':
		return "ae", true
	case 'ö':
		return "oe", true
	case 'ü':
		return "ue", true
	case 'Ä':
		return "Ae", true
	case 'Ö':
		return "Oe", true
	case 'Ü':
		return "Ue", true
	case 'ß':
		return "ss", true
	case 'ẞ':
		return "SS", true
	case 'æ':
		return "ae", true
	case 'Æ':
		return "Ae", true
	case 'œ':
		return "oe", true
	case 'Œ':
		return "Oe", true
	case 'þ':
		return "th", true
	case 'Þ':
		return "Th", true
	case 'ĳ':
		return "ij", true
	case 'Ĳ':
		return "IJ", true
	case 'à', 'á', 'â', 'ã', 'å', 'ā', 'ă', 'ą', 'ǎ':
		return "a", true
	case 'À', 'Á', 'Â', 'Ã', 'Å', 'Ā', 'Ă', 'Ą', 'Ǎ':
		return "A", true
	case 'ç', 'ć', 'ĉ', 'ċ', 'č':
		return "c", true
	case 'Ç', 'Ć', 'Ĉ', 'Ċ', 'Č':
		return "C", true
	case 'ð', 'ď', 'đ':
		return "d", true
	case 'Ð', 'Ď', 'Đ':
		return "D", true
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return "e", true
	case 'È', 'É', 'Ê', 'Ë', 'Ē', 'Ĕ', 'Ė', 'Ę', 'Ě':
		return "E", true
	case 'ĝ', 'ğ', 'ġ', 'ģ':
		return "g", true
	case 'Ĝ', 'Ğ', 'Ġ', 'Ģ':
		return "G", true
	case 'ĥ', 'ħ':
		return "h", true
	case 'Ĥ', 'Ħ':
		return "H", true
	case 'ì', 'í', 'î', 'ï', 'ĩ', 'ī', 'ĭ', 'į', 'ı', 'ǐ':
		return "i", true
	case 'Ì', 'Í', 'Î', 'Ï', 'Ĩ', 'Ī', 'Ĭ', 'Į', 'İ', 'Ǐ':
		return "I", true
	case 'ĵ':
		return "j", true
	case 'Ĵ':
		return "J", true
	case 'ķ', 'ĸ':
		return "k", true
	case 'Ķ':
		return "K", true
	case 'ĺ', 'ļ', 'ľ', 'ŀ', 'ł':
		return "l", true
	case 'Ĺ', 'Ļ', 'Ľ', 'Ŀ', 'Ł':
		return "L", true
	case 'ñ', 'ń', 'ņ', 'ň', 'ŉ', 'ŋ':
		return "n", true
	case 'Ñ', 'Ń', 'Ņ', 'Ň', 'Ŋ':
		return "N", true
	case 'ò', 'ó', 'ô', 'õ', 'ø', 'ō', 'ŏ', 'ő', 'ǒ', 'ơ':
		return "o", true
	case 'Ò', 'Ó', 'Ô', 'Õ', 'Ø', 'Ō', 'Ŏ', 'Ő', 'Ǒ', 'Ơ':
		return "O", true
	case 'ŕ', 'ŗ', 'ř':
		return "r", true
	case 'Ŕ', 'Ŗ', 'Ř':
		return "R", true
	case 'ś', 'ŝ', 'ş', 'š', 'ș', 'ſ':
		return "s", true
	case 'Ś', 'Ŝ', 'Ş', 'Š', 'Ș':
		return "S", true
	case 'ţ', 'ť', 'ŧ', 'ț':
		return "t", true
	case 'Ţ', 'Ť', 'Ŧ', 'Ț':
		return "T", true
	case 'ù', 'ú', 'û', 'ũ', 'ū', 'ŭ', 'ů', 'ű', 'ų', 'ǔ', 'ư':
		return "u", true
	case 'Ù', 'Ú', 'Û', 'Ũ', 'Ū', 'Ŭ', 'Ů', 'Ű', 'Ų', 'Ǔ', 'Ư':
		return "U", true
	case 'ŵ':
		return "w", true
	case 'Ŵ':
		return "W", true
	case 'ý', 'ÿ', 'ŷ':
		return "y", true
	case 'Ý', 'Ÿ', 'Ŷ':
		return "Y", true
	case 'ź', 'ż', 'ž':
		return "z", true
	case 'Ź', 'Ż', 'Ž':
		return "Z", true
	}
	return "", false
}

// cyrillicLower spells the Russian, Ukrainian and Belarusian letters the way
// machine readable passports do (ICAO 9303); the soft sign has no spelling.
var cyrillicLower = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "i", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "ie", 'ы': "y", 'ь': "", 'э': "e", 'ю': "iu",
	'я': "ia", 'і': "i", 'ї': "i", 'є': "ie", 'ґ': "g", 'ў': "u",
}

// cyrillicPlain returns the Latin spelling of a Cyrillic letter, capitalized
// when the letter is.
func cyrillicPlain(r rune) (string, bool) {
	plain, ok := cyrillicLower[unicode.ToLower(r)]
	if !ok || plain == "" || !unicode.IsUpper(r) {
		return plain, ok
	}
	return strings.ToUpper(plain[:1]) + plain[1:], true
}
