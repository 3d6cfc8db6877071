// The site 404 page (404.html): the server sends it, with status 404, for any page
// path it has no file for — so it may be shown at any depth, and every link in it is
// root-absolute. The page itself works without script; this only adds the header.
import { renderHeader } from '../ui.js';

renderHeader();
