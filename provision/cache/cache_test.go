package cache

import "testing"

func TestDir(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"KPROV_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c/images"},
		{map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/kprov/images"},
		{map[string]string{"HOME": "/h"}, "/h/.cache/kprov/images"},
	} {
		if got := Dir("images", func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}
