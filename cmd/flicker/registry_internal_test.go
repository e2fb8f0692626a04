package main

import "testing"

func TestShownName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"/var/log/app.log", "/var/log/app.log"},
		{"/var/log/café 1.log", "/var/log/café 1.log"}, // printable UTF-8 and inner spaces stay readable
		{"a\nb", `"a\nb"`},
		{"a\tb", `"a\tb"`},
		{"\x1b[31mred", `"\x1b[31mred"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"rtl\u202eoverride", `"rtl\u202eoverride"`},
		{`"quoted"`, `"\"quoted\""`}, // else it would read as the name quoted
		{" lead", `" lead"`},
		{"trail ", `"trail "`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := shownName(tt.name); got != tt.want {
			t.Errorf("shownName(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
}
