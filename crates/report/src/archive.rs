/*!
`qmvcmonth -a`: archiving a layer's logs. TODO.
*/
