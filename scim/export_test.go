package scim

// The black-box tests in package scim_test fill their stores with the same
// fixture as the unit tests.

type FixturePerson = person

var (
	CompanyPeople   = company
	SyntheticPeople = syntheticPeople
	PersonID        = personID
	NewFixtureStore = newFixtureStore
	FixtureTime     = fixtureTime
)

// PersonIdentity is the identity the fixture stores for a person.
var PersonIdentity = person.identity
