package personiotest

import "strings"

// name is a given or family name with the ASCII form used in the work
// email; empty ascii means asciiFold can derive it.
type name struct {
	text  string
	ascii string
}

// Given names from Germany, Austria and Switzerland, with umlauts and ß.
func femaleNames() []name {
	return names("Anna", "Lena", "Mia", "Emma", "Hannah", "Sophie", "Marie", "Johanna", "Charlotte",
		"Greta", "Frieda", "Ida", "Luisa", "Sabine", "Claudia", "Ute", "Heike", "Katrin", "Dörte",
		"Bärbel", "Käthe", "Jördis", "Simone", "Julia", "Laura", "Lea", "Sarah", "Theresa", "Veronika",
		"Katharina", "Elisabeth", "Florentina", "Corinne", "Nadine", "Seraina", "Flurina", "Chiara",
		"Ladina", "Annelie", "Maëlle", "Zoë", "Mathilde", "Rosemarie", "Gülşen", "Renée")
}

func maleNames() []name {
	return names("Jürgen", "Jörg", "Björn", "Sören", "Günter", "Lukas", "Leon", "Paul", "Felix",
		"Maximilian", "Elias", "Noah", "Ben", "Finn", "Jonas", "Tobias", "Stefan", "Andreas", "Thomas",
		"Michael", "Moritz", "Florian", "Matthias", "Sebastian", "Christoph", "Dominik", "Ludwig", "Anton",
		"Vinzenz", "Valentin", "Leopold", "Reto", "Urs", "Beat", "Ueli", "Gian", "Mathis", "Aurelio",
		"Johannes", "Alexander", "Friedrich", "Benedikt", "Hans-Jörg", "Kai-Uwe", "Mehmet", "Noël")
}

// Family names, German, Austrian and Swiss.
func familyNames() []name {
	return names("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
		"Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
		"Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner",
		"Krause", "Lehmann", "Köhler", "König", "Huber", "Kaiser", "Fuchs", "Möller", "Weiß", "Jung",
		"Hahn", "Vogel", "Keller", "Günther", "Berger", "Winkler", "Roth", "Böhm", "Jäger", "Groß",
		"Strauß", "Nußbaum", "Preuß", "Voß", "Gruber", "Pichler", "Steiner", "Moser", "Hofer",
		"Leitner", "Eder", "Wimmer", "Egger", "Brunner", "Gerber", "Widmer", "Frei", "Baumgartner",
		"Suter", "Kälin", "Bühler", "Lüthi", "Zürcher", "Näf", "Dürr", "von Arx", "de Vries",
		"Müller-Lüdenscheidt", "Yılmaz", "Öztürk", "Łukaszewicz", "Dvořák")
}

// nonLatinNames are whole names in other scripts with their transliteration.
func nonLatinNames() [][2]name {
	return [][2]name{
		{{"Σοφία", "sofia"}, {"Παπαδοπούλου", "papadopoulou"}},
		{{"Дмитрий", "dmitrij"}, {"Иванов", "ivanov"}},
		{{"Олена", "olena"}, {"Шевченко", "shevchenko"}},
		{{"娜", "na"}, {"李", "li"}},
		{{"ゆき", "yuki"}, {"佐藤", "sato"}},
		{{"محمد", "mohammed"}, {"الحسن", "alhassan"}},
		{{"נועה", "noa"}, {"כהן", "cohen"}},
		{{"민준", "minjun"}, {"김", "kim"}},
	}
}

// nicknames are the preferred names of some given names.
func nickname(given string) string {
	switch given {
	case "Maximilian":
		return "Max"
	case "Johannes":
		return "Hannes"
	case "Katharina":
		return "Kathi"
	case "Alexander":
		return "Alex"
	case "Elisabeth":
		return "Lisa"
	case "Christoph":
		return "Chris"
	case "Friedrich":
		return "Fritz"
	case "Dmitrij", "Дмитрий":
		return "Dima"
	case "Benedikt":
		return "Bene"
	case "Rosemarie":
		return "Rosi"
	case "Hans-Jörg":
		return "Hajo"
	case "Veronika":
		return "Vroni"
	}
	return ""
}

func names(texts ...string) []name {
	out := make([]name, len(texts))
	for i, t := range texts {
		out[i] = name{text: t, ascii: asciiFold(t)}
	}
	return out
}

// asciiFold writes a Latin-script name in lower-case ASCII for an email
// address: ä→ae, ö→oe, ü→ue, ß→ss, other accents dropped, spaces and
// apostrophes removed.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'ä':
			b.WriteString("ae")
		case 'ö':
			b.WriteString("oe")
		case 'ü':
			b.WriteString("ue")
		case 'ß':
			b.WriteString("ss")
		case 'á', 'à', 'â', 'å', 'ą':
			b.WriteByte('a')
		case 'é', 'è', 'ê', 'ë', 'ę':
			b.WriteByte('e')
		case 'í', 'ì', 'î', 'ï', 'ı':
			b.WriteByte('i')
		case 'ó', 'ò', 'ô', 'ø':
			b.WriteByte('o')
		case 'ú', 'ù', 'û':
			b.WriteByte('u')
		case 'ç', 'č':
			b.WriteByte('c')
		case 'ş', 'š':
			b.WriteByte('s')
		case 'ğ':
			b.WriteByte('g')
		case 'ł':
			b.WriteByte('l')
		case 'ř':
			b.WriteByte('r')
		case 'ž':
			b.WriteByte('z')
		case 'ñ':
			b.WriteByte('n')
		case 'ý':
			b.WriteByte('y')
		case '-':
			b.WriteByte('-')
		default:
			if r < 128 && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}
