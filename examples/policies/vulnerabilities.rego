# Vulnerabilities: no critical finding with a published fix stays longer than max_age_days.
#   containerkit scan IMAGE --policy examples/policies
package vulnerabilities

import rego.v1

max_age_days := 30

day_ns := ((24 * 60) * 60) * 1000000000

deny contains msg if {
	some f in input.findings
	f.severity == "critical"
	count(f.fixed_versions) > 0
	f.ignored == null
	is_string(f.published)
	# "Z" spelled +00:00: OPA reads both, the rego-cpp engine (regopy 1.5) only the latter
	age := (time.now_ns() - time.parse_rfc3339_ns(replace(f.published, "Z", "+00:00"))) / day_ns
	age > max_age_days
	msg := sprintf("%s in %s %s is critical, fixed in %s, and was published %d days ago (limit %d)", [
		f.id, f.package, f.installed_version, f.fixed_versions[0], floor(age), max_age_days,
	])
}

warn contains msg if {
	input.db.age_days > 7
	msg := sprintf("the vulnerability database is %d days old", [floor(input.db.age_days)])
}
