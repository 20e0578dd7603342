// Boost.Asio and Boost.Beast compiled once, here (separate compilation: see
// BOOST_*_SEPARATE_COMPILATION on spotgrid_asio); everything else includes only
// their declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
